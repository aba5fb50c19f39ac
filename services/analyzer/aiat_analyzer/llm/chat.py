"""What the LLM refiner asks of a chat backend, and the request body both backends send."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from aiat.errors import Cancelled, EngineUnavailable, StartupError
from aiat_analyzer.plan import PlanParseError

log = logging.getLogger(__name__)
T = TypeVar("T")

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


def ask(
    backend: ChatBackend,
    messages: Messages,
    schema: dict[str, Any],
    max_tokens: int,
    cancel: threading.Event,
    *,
    parse: Callable[[str], T],
    correction: Callable[[str], str],
    attempts: int,
    what: str,
) -> T | None:
    """The first answer `parse` accepts in `attempts` tries, each retry told what was wrong; None if none."""
    for attempt in range(1, attempts + 1):
        if cancel.is_set():
            raise Cancelled("analysis cancelled")
        text = ""
        try:
            text = backend.complete(messages, schema, max_tokens, cancel)
            return parse(text)
        except (LlmOutputError, PlanParseError) as exc:
            log.warning("%s: unusable %s (attempt %d of %d): %s", backend.name, what, attempt, attempts, exc)
            # Ask again with the bad answer and what was wrong with it (at temperature 0 the same prompt
            # would give the same answer).
            retry = [{"role": "assistant", "content": text[:2000]}] if text.strip() else []
            messages = [*messages[:2], *retry, {"role": "user", "content": correction(str(exc)[:200])}]
    return None
