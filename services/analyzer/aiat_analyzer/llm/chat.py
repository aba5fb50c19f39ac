"""What the LLM refiner asks of a chat backend, and the request body both backends send."""

from __future__ import annotations

import threading
from typing import Any, Literal, Protocol

from aiat.errors import EngineUnavailable, StartupError

SchemaStyle = Literal["json_object", "json_schema"]
Messages = list[dict[str, str]]


class LlmOutputError(Exception):
    """A model call that produced no usable answer (bad HTTP status, truncated or empty output)."""


class BackendNotReady(EngineUnavailable, StartupError):
    """The backend cannot be opened (model missing or damaged, vLLM never ready): a start-up failure."""


class ChatBackend(Protocol):
    """One chat completion with a JSON-schema-constrained answer; raises LlmOutputError or EngineError."""

    name: str
    parallel: int  # windows the backend serves at once

    def complete(
        self, messages: Messages, schema: dict[str, Any], max_tokens: int, cancel: threading.Event
    ) -> str:
        """The model's answer text."""

    def load(self) -> None:
        """Open the model or the connection (blocking); BackendNotReady when it cannot be done."""

    def close(self) -> None:
        """Release what load() opened; safe when load() never ran."""


def response_format(schema: dict[str, Any], style: SchemaStyle) -> dict[str, Any]:
    """OpenAI `response_format` for a schema: llama.cpp wants json_object+schema, vLLM wants json_schema."""
    if style == "json_object":
        return {"type": "json_object", "schema": schema}
    return {
        "type": "json_schema",
        "json_schema": {"name": "segment_labels", "schema": schema, "strict": True},
    }


def chat_body(
    messages: Messages,
    schema: dict[str, Any],
    max_tokens: int,
    temperature: float,
    style: SchemaStyle,
) -> dict[str, Any]:
    """The chat-completion arguments both backends send (the HTTP one adds `model`)."""
    return {
        "messages": messages,
        "response_format": response_format(schema, style),
        "max_tokens": max_tokens,
        "temperature": temperature,
    }
