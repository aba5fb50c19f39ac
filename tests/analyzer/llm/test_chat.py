"""The chat request body both backends send, and the start-up error a backend raises."""

from __future__ import annotations

from aiat.errors import EngineUnavailable, StartupError
from aiat_analyzer.llm.chat import BackendNotReady, chat_body
from aiat_analyzer.llm.prompts import response_schema


def test_backend_formats_differ_only_in_response_format() -> None:
    """llama.cpp gets json_object + schema, vLLM gets json_schema (NOTES: each rejects the other's)."""
    schema = response_schema(1, merge=False)
    llama = chat_body([], schema, 100, 0.0, "json_object")
    vllm = chat_body([], schema, 100, 0.0, "json_schema")
    assert llama["response_format"] == {"type": "json_object", "schema": schema}
    assert vllm["response_format"]["json_schema"]["schema"] == schema
    assert {k: v for k, v in llama.items() if k != "response_format"} == {
        k: v for k, v in vllm.items() if k != "response_format"
    }


def test_backend_not_ready_is_unavailable_and_a_start_up_error() -> None:
    """UNAVAILABLE if a call meets it; exit code 2 when it stops the service from starting."""
    exc = BackendNotReady("vLLM never answered")
    assert isinstance(exc, EngineUnavailable) and isinstance(exc, StartupError)
