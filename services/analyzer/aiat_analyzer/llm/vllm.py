"""GPU backend: a `vllm serve` sidecar reached through its OpenAI-compatible HTTP API."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx

from aiat.errors import Cancelled, EngineUnavailable
from aiat_analyzer.llm.chat import BackendNotReady, LlmOutputError, Messages, chat_body

log = logging.getLogger(__name__)


class VllmBackend:
    """Chat completions with `response_format: json_schema` against an OpenAI-compatible server."""

    name = "vllm"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 120.0,
        temperature: float = 0.0,
        parallel: int = 8,
        transport_retries: int = 2,
        startup_timeout: float = 600.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.temperature = temperature
        self.parallel = parallel
        self.transport_retries = transport_retries
        self.startup_timeout = startup_timeout
        # No connection is made until the first request: building the client does no I/O.
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=max(parallel, 1)),
        )

    def load(self) -> None:
        """Wait until the server lists the model (it loads for minutes); BackendNotReady if it never does."""
        self.wait_ready(self.startup_timeout)

    def wait_ready(self, timeout: float) -> None:
        """Block until the server lists the model; BackendNotReady on timeout or when it serves another."""
        deadline = time.monotonic() + timeout
        problem = ""
        while True:
            try:
                resp = self.client.get("/models", timeout=10.0)
                if resp.status_code == 200:
                    served = [m.get("id") for m in resp.json().get("data", []) if isinstance(m, dict)]
                    if self.model in served:
                        log.info("vLLM at %s serves %s", self.base_url, self.model)
                        return
                    raise BackendNotReady(
                        f"the vLLM server at {self.base_url} serves {served}, not {self.model!r} "
                        "(set AIAT_ANALYZER_VLLM_MODEL to the served model name)"
                    )
                problem = f"HTTP {resp.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                problem = str(exc) or type(exc).__name__
            if time.monotonic() >= deadline:
                raise BackendNotReady(f"the vLLM server at {self.base_url} is not ready: {problem}")
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))

    def request_body(self, messages: Messages, schema: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        """The POST /chat/completions body."""
        return {
            "model": self.model,
            **chat_body(messages, schema, max_tokens, self.temperature, "json_schema"),
        }

    def complete(
        self, messages: Messages, schema: dict[str, Any], max_tokens: int, cancel: threading.Event
    ) -> str:
        """One completion; transport failures retried, then EngineUnavailable; bad answers LlmOutputError."""
        body = self.request_body(messages, schema, max_tokens)
        for attempt in range(self.transport_retries + 1):
            if cancel.is_set():
                raise Cancelled("analysis cancelled")
            try:
                resp = self.client.post("/chat/completions", json=body)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code < 500:
                    return self._answer(resp, max_tokens)
                problem = f"HTTP {resp.status_code}: {resp.text[:200]}"
            log.warning("vLLM request failed (attempt %d): %s", attempt + 1, problem)
            if attempt < self.transport_retries:
                time.sleep(0.5 * 2**attempt)
        raise EngineUnavailable(f"the vLLM server at {self.base_url} failed: {problem}")

    @staticmethod
    def _answer(resp: httpx.Response, max_tokens: int) -> str:
        if resp.status_code != 200:
            raise LlmOutputError(f"HTTP {resp.status_code}: {resp.text[:200]}")
        try:
            choice = resp.json()["choices"][0]
            text = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LlmOutputError(f"not a chat completion: {resp.text[:200]}") from exc
        if choice.get("finish_reason") == "length":
            raise LlmOutputError(f"answer cut off at {max_tokens} tokens")
        if not isinstance(text, str) or not text.strip():
            raise LlmOutputError("empty answer")
        return text

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()
