"""Speech-recognition engines: the interface the servicer uses, the faster-whisper engine and its factory."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel

from aiat.common.v1 import transcript_pb2
from aiat.errors import Cancelled, EngineUnavailable, InvalidInput, StartupError
from aiat.store import MediaStore
from aiat_transcriber.audio import SAMPLE_RATE, AudioChunk, iter_audio_chunks, resolve_media, windows
from aiat_transcriber.models import resolve_device, resolve_model
from aiat_transcriber.multilingual import ensure_model_dir
from aiat_transcriber.settings import TranscriberSettings
from aiat_transcriber.timeline import Timeline

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, float], None]

GPU_DEFAULT_BATCH = 16
# Text of the previous chunk handed to the next one as its prompt, like Whisper's own
# condition_on_previous_text between 30 s windows.
_PROMPT_TAIL_CHARS = 400
# BatchedInferencePipeline decodes each clip as one Whisper window and drops audio past 30 s of it.
_WHISPER_WINDOW_SECONDS = 30.0
_WARMUP_SECONDS = 1.0


@dataclass(frozen=True)
class TranscribeOptions:
    """Per-request choices; None means the engine's configured default."""

    language: str | None = None
    beam_size: int | None = None
    vad_filter: bool | None = None
    word_timestamps: bool = True
    initial_prompt: str | None = None
    model: str = ""  # "", "default" or "multilingual" (see TranscribeRequest.model)
    vocabulary: tuple[str, ...] = ()  # course terms favoured in every window (faster-whisper hotwords)


class TranscriptionEngine(Protocol):
    """What the servicer needs from a speech engine; calls come from worker threads."""

    @property
    def name(self) -> str:
        """Engine description for Transcript.engine, e.g. "faster-whisper tiny.en int8 cpu"."""
        ...

    def load(self) -> None:
        """Load the model (slow, blocking); raise StartupError on a missing or broken model."""
        ...

    def transcribe(
        self, media_path: str, options: TranscribeOptions, on_progress: ProgressFn, cancel: threading.Event
    ) -> transcript_pb2.Transcript:
        """Transcribe a store media file, reporting (done, total) seconds; raise Cancelled once `cancel` is set."""
        ...

    def close(self) -> None:
        """Release the model."""
        ...


@dataclass(frozen=True)
class WhisperConfig:
    """The faster-whisper engine's share of TranscriberSettings (see there for each field's meaning)."""

    model: str
    multilingual_model: str
    model_dir: str
    device: str
    device_index: int
    compute_type: str
    beam_size: int
    language: str
    vad_filter: bool
    batch_size: int
    cpu_threads: int
    max_concurrency: int  # faster-whisper's num_workers: one per concurrent transcription
    chunk_seconds: float
    media_root: Path

    @classmethod
    def from_settings(cls, settings: TranscriberSettings) -> WhisperConfig:
        """The settings fields of the same names."""
        return cls(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(cls)})


class FasterWhisperEngine:
    """faster-whisper (CTranslate2) on CPU or GPU, optionally batched, over bounded audio chunks."""

    def __init__(self, config: WhisperConfig, model_type: Callable[..., WhisperModel] = WhisperModel) -> None:
        self.config = config
        self._model_type = model_type
        self._store: MediaStore | None = None
        self._model: WhisperModel | None = None
        self._batch_size = 1
        self._name = "faster-whisper (not loaded)"
        # The multilingual model, loaded on first use when the default one is English-only.
        self._multilingual: tuple[WhisperModel, str] | None = None
        self._multilingual_lock = threading.Lock()
        self._device = "cpu"
        self._compute_type = "int8"
        self._cpu_threads = 1

    @property
    def name(self) -> str:
        """Engine description for Transcript.engine."""
        return self._name

    def load(self) -> None:
        """Open the store, load the model from local disk and warm it up; StartupError when it cannot work."""
        cfg = self.config
        self._store = MediaStore(cfg.media_root)
        device = resolve_device(cfg.device)
        compute_type = cfg.compute_type
        if compute_type == "auto":
            compute_type = "float16" if device == "cuda" else "int8"
        model_path, label = resolve_model(cfg.model, cfg.model_dir, device)
        batch_size = cfg.batch_size or (GPU_DEFAULT_BATCH if device == "cuda" else 1)
        cpu_threads = cfg.cpu_threads or max(1, len(os.sched_getaffinity(0)) // cfg.max_concurrency)
        log.info(
            "loading faster-whisper %s from %s (%s %s, batch %d, %d CPU threads)",
            label, model_path, device, compute_type, batch_size, cpu_threads,
        )  # fmt: skip
        batched = f" batch {batch_size}" if batch_size > 1 else ""
        self._device, self._compute_type, self._cpu_threads = device, compute_type, cpu_threads
        self._batch_size = batch_size
        name = f"faster-whisper {label} {compute_type} {device}{batched}"
        try:
            self._model = self._open(model_path, name)
        except Exception:
            self.close()
            raise
        self._name = name
        log.info("loaded %s", self._name)

    def _open(self, model_path: str, name: str) -> WhisperModel:
        """Load and warm up one model; StartupError naming it when it cannot transcribe."""
        try:
            model = self._model_type(
                model_path,
                device=self._device,
                device_index=self.config.device_index,
                compute_type=self._compute_type,
                cpu_threads=self._cpu_threads,
                num_workers=self.config.max_concurrency,
                local_files_only=True,
            )
            self._warm_up(model)
        except Exception as exc:
            raise StartupError(f"{name} cannot transcribe: {exc.__class__.__name__}: {exc}") from exc
        return model

    def _warm_up(self, model: WhisperModel) -> None:
        """Transcribe a second of silence, the way jobs run: CTranslate2 loads cuBLAS only on first use."""
        silence = np.zeros(int(_WARMUP_SECONDS * SAMPLE_RATE), dtype=np.float32)
        options = TranscribeOptions(beam_size=1, vad_filter=False)  # VAD would skip the silence entirely
        language = (self.config.language or None) if model.model.is_multilingual else None
        segments, _info = self._run(model, AudioChunk(0.0, silence), options, language, None)
        for _segment in segments:  # decoding is lazy
            pass

    def close(self) -> None:
        """Drop the models so their memory can be freed."""
        self._model = None
        self._multilingual = None
        gc.collect()

    def _pick(self, options: TranscribeOptions, language: str | None) -> tuple[WhisperModel, str]:
        """(model, engine name) for a request: the multilingual model when asked, or when a language
        other than English is asked of an English-only default model."""
        if self._model is None:
            raise EngineUnavailable("the speech model is not loaded yet")
        english_only = not self._model.model.is_multilingual
        wants = options.model or ("multilingual" if language not in (None, "en") else "default")
        if wants == "default" or not english_only:
            return self._model, self._name
        with self._multilingual_lock:  # one load, however many requests wait for it
            if self._multilingual is None:
                self._multilingual = self._load_multilingual()
            return self._multilingual

    def _load_multilingual(self) -> tuple[WhisperModel, str]:
        cfg = self.config
        if cfg.multilingual_model:
            path, label = resolve_model(cfg.multilingual_model, cfg.model_dir, self._device)
        else:
            path, label = str(ensure_model_dir()), "base"
        batched = f" batch {self._batch_size}" if self._batch_size > 1 else ""
        name = f"faster-whisper {label} {self._compute_type} {self._device}{batched}"
        log.info("loading the multilingual model %s from %s", name, path)
        model = self._open(path, name)
        log.info("loaded %s", name)
        return model, name

    def transcribe(
        self, media_path: str, options: TranscribeOptions, on_progress: ProgressFn, cancel: threading.Event
    ) -> transcript_pb2.Transcript:
        """Transcribe chunk by chunk, streaming progress per segment and stopping once cancelled."""
        if self._model is None or self._store is None:
            raise EngineUnavailable("the speech model is not loaded yet")
        path, total = resolve_media(self._store, media_path)
        language = options.language or self.config.language or None
        model, name = self._pick(options, options.language)
        if not model.model.is_multilingual:
            language = None  # an English-only model knows no other language
        timeline = Timeline(total)
        transcript = transcript_pb2.Transcript(duration=total, engine=name)
        prompt = options.initial_prompt or None
        done = 0.0
        decoded = 0
        on_progress(done, total)
        for chunk in iter_audio_chunks(path, self.config.chunk_seconds, cancel):
            decoded += len(chunk.samples)
            if not len(chunk.samples):
                continue
            segments, info = self._run(model, chunk, options, language, prompt)
            if not transcript.language:
                transcript.language = info.language
                transcript.language_probability = info.language_probability
            language = language or info.language  # keep the first chunk's detection for the rest
            texts = []
            for segment in _until_cancelled(segments, cancel):
                placed = timeline.place(segment, chunk.offset)
                transcript.segments.append(placed)
                texts.append(placed.text)
                done = max(done, placed.end)
                on_progress(done, total)
            # The caller's prompt goes to every chunk, not only the first; then the text just heard.
            tail = " ".join(texts)[-_PROMPT_TAIL_CHARS:]
            prompt = " ".join(p for p in (options.initial_prompt, tail) if p) or None
            done = max(done, min(chunk.offset + chunk.seconds, total))
            on_progress(done, total)
        if decoded == 0:
            raise InvalidInput("the audio track has no decodable samples")
        if done < total:
            on_progress(total, total)
        return transcript

    def _run(
        self,
        model: WhisperModel,
        chunk: AudioChunk,
        options: TranscribeOptions,
        language: str | None,
        prompt: str | None,
    ) -> tuple[Iterable[Any], Any]:
        vad_filter = self.config.vad_filter if options.vad_filter is None else options.vad_filter
        kwargs: dict[str, Any] = {
            "language": language,
            "beam_size": options.beam_size or self.config.beam_size,
            "vad_filter": vad_filter,
            "word_timestamps": options.word_timestamps,
            "initial_prompt": prompt,
            # Hotwords go before the previous text in the prompt of every 30 s window.
            "hotwords": ", ".join(options.vocabulary) or None,
        }
        if self._batch_size == 1:
            return model.transcribe(chunk.samples, **kwargs)  # type: ignore[no-any-return]
        if not vad_filter:
            # Without VAD the pipeline has no clips and refuses audio of 30 s or more: give it windows.
            kwargs["clip_timestamps"] = [
                {"start": start / SAMPLE_RATE, "end": end / SAMPLE_RATE}
                for start, end in windows(chunk.samples, _WHISPER_WINDOW_SECONDS)
            ]
        # A pipeline per call: it keeps the last word's end between batches (instance state).
        pipeline = BatchedInferencePipeline(model)
        return pipeline.transcribe(chunk.samples, batch_size=self._batch_size, **kwargs)  # type: ignore[no-any-return]


def _until_cancelled(segments: Iterable[Any], cancel: threading.Event) -> Iterable[Any]:
    """The lazily decoded segments, raising Cancelled between two once `cancel` is set."""
    for segment in segments:
        if cancel.is_set():
            raise Cancelled("cancelled by the caller")
        yield segment
    if cancel.is_set():
        raise Cancelled("cancelled by the caller")


def build_engine(settings: TranscriberSettings) -> FasterWhisperEngine:
    """The engine the settings describe, not loaded yet (no I/O: load() opens the store and the model)."""
    return FasterWhisperEngine(WhisperConfig.from_settings(settings))
