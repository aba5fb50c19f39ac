"""CPU backend: the bundled GGUF model run in-process by llama.cpp (llama-cpp-python)."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from aiat.errors import Cancelled, EngineUnavailable
from aiat_analyzer.llm import LlmOutputError, chat_body
from aiat_analyzer.model_files import MODEL_SHA256, ModelFileError, ensure_model

log = logging.getLogger(__name__)


class LlamaBackend:
    """A llama.cpp model in this process; one completion at a time (the context is not thread-safe)."""

    name = "llama"
    parallel = 1

    def __init__(
        self,
        model_path: Path | None = None,
        sha256: str = MODEL_SHA256,
        n_ctx: int = 4096,
        n_threads: int = 0,
        temperature: float = 0.0,
    ) -> None:
        began = time.perf_counter()
        try:
            path = ensure_model(model_path, sha256)
        except ModelFileError as exc:
            raise EngineUnavailable(f"cannot load the analyzer model: {exc}") from exc
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise EngineUnavailable(
                "llama-cpp-python is not installed (`make venv` builds it; see pyproject.toml)"
            ) from exc
        threads = n_threads or os.cpu_count() or 1
        self.llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,  # prompt processing too (llama-cpp-python defaults it to every core)
            n_batch=512,
            seed=0,
            verbose=False,
        )
        self.temperature = temperature
        self.model_path = path
        self._lock = threading.Lock()
        log.info(
            "llama model %s loaded in %.1f s (%d threads)", path.name, time.perf_counter() - began, threads
        )

    def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int, cancel: threading.Event
    ) -> str:
        """Schema-constrained completion, streamed so that cancellation stops it between tokens."""
        body = chat_body(messages, schema, max_tokens, self.temperature, "json_object")
        chunks: list[str] = []
        finish = None
        with self._lock:
            try:
                stream: Any = self.llm.create_chat_completion(**body, stream=True)
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                raise LlmOutputError(f"the model refused the prompt: {exc}") from exc
            try:
                for chunk in stream:
                    if cancel.is_set():
                        raise Cancelled("analysis cancelled")
                    choice = chunk["choices"][0]
                    chunks.append(choice.get("delta", {}).get("content") or "")
                    finish = choice.get("finish_reason") or finish
            finally:
                stream.close()
        text = "".join(chunks)
        if finish == "length":
            raise LlmOutputError(f"answer cut off at {max_tokens} tokens")
        if not text.strip():
            raise LlmOutputError("empty answer")
        return text

    def close(self) -> None:
        """Free the model, after any completion still running in a worker thread."""
        with self._lock:
            self.llm.close()
