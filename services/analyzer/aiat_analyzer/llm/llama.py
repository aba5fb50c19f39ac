"""CPU backend: the bundled GGUF model run in-process by llama.cpp (llama-cpp-python)."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiat.errors import Cancelled, EngineUnavailable
from aiat_analyzer.llm.chat import BackendNotReady, LlmOutputError, Messages, chat_body
from aiat_analyzer.model_files import MODEL_SHA256, ModelFileError, ensure_model

if TYPE_CHECKING:
    from llama_cpp import Llama

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
        self.configured_path = model_path
        self.sha256 = sha256
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.temperature = temperature
        self.model_path: Path | None = None  # the verified file, once loaded
        self._llm: Llama | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Join or verify the model file and load it (tens of seconds); BackendNotReady when it cannot."""
        began = time.perf_counter()
        try:
            path = ensure_model(self.configured_path, self.sha256)
        except ModelFileError as exc:
            raise BackendNotReady(f"cannot load the analyzer model: {exc}") from exc
        try:
            # Imported here, not at the top: only the llama engine needs the native library.
            from llama_cpp import Llama
        except ImportError as exc:
            raise BackendNotReady(
                "llama-cpp-python is not installed (`make venv` builds it; see pyproject.toml)"
            ) from exc
        threads = self.n_threads or os.cpu_count() or 1
        llm = Llama(
            model_path=str(path),
            n_ctx=self.n_ctx,
            n_threads=threads,
            n_threads_batch=threads,  # prompt processing too (llama-cpp-python defaults it to every core)
            n_batch=512,
            seed=0,
            verbose=False,
        )
        with self._lock:
            self._llm = llm
            self.model_path = path
        log.info(
            "llama model %s loaded in %.1f s (%d threads)", path.name, time.perf_counter() - began, threads
        )

    @property
    def llm(self) -> Llama:
        """The loaded model; EngineUnavailable before load()."""
        if self._llm is None:
            raise EngineUnavailable("the analyzer model is not loaded yet")
        return self._llm

    def complete(
        self, messages: Messages, schema: dict[str, Any], max_tokens: int, cancel: threading.Event
    ) -> str:
        """Schema-constrained completion, streamed so that cancellation stops it between tokens."""
        body = chat_body(messages, schema, max_tokens, self.temperature, "json_object")
        chunks: list[str] = []
        finish = None
        with self._lock:
            llm = self.llm
            try:
                stream: Any = llm.create_chat_completion(**body, stream=True)
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
            if self._llm is not None:
                self._llm.close()
                self._llm = None
