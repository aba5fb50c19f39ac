"""The faster-whisper engine without gRPC: not usable before load(), chunked transcription."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import pytest
from faster_whisper import BatchedInferencePipeline, WhisperModel

from aiat.common.v1 import transcript_pb2
from aiat.errors import EngineUnavailable, StartupError
from aiat_transcriber.audio import SAMPLE_RATE
from aiat_transcriber.engine import FasterWhisperEngine, TranscribeOptions, WhisperConfig, build_engine
from aiat_transcriber.settings import TranscriberSettings
from tests.transcriber.conftest import LECTURE_TEXT, LONG_TEXT
from tests.transcriber.wer import word_error_rate


def test_unloaded_engine_is_unavailable(data_dir: Path) -> None:
    with pytest.raises(EngineUnavailable):
        build_engine(TranscriberSettings(data_dir=data_dir)).transcribe(
            "lectures/energy.mp4", TranscribeOptions(), lambda *_: None, threading.Event()
        )


def test_chunked_transcription_matches_the_text(data_dir: Path, engine: FasterWhisperEngine) -> None:
    chunked = build_engine(TranscriberSettings(data_dir=data_dir, device="cpu", chunk_seconds=10))
    chunked.load()
    try:
        transcript = chunked.transcribe(
            "lectures/energy.mp4", TranscribeOptions(), lambda *_: None, threading.Event()
        )
    finally:
        chunked.close()
    assert transcript.engine == engine.name
    assert word_error_rate(LECTURE_TEXT, " ".join(s.text for s in transcript.segments)) <= 0.10
    ends = [s.end for s in transcript.segments]
    assert ends == sorted(ends)


class CountingModel(WhisperModel):
    """The real model, counting encoder runs."""

    encodes = 0

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        """Count, then encode."""
        CountingModel.encodes += 1
        return super().encode(features)


class CublasMissingModel(WhisperModel):
    """The real model on a machine whose CUDA stack breaks at the first matrix product, as CTranslate2 reports it."""

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        """Fail the way a missing cuBLAS does."""
        raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")


def _engine(
    data_dir: Path, model_type: type[WhisperModel] = WhisperModel, **settings: Any
) -> FasterWhisperEngine:
    config = WhisperConfig.from_settings(TranscriberSettings(data_dir=data_dir, device="cpu", **settings))
    return FasterWhisperEngine(config, model_type)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_load_runs_a_warm_up_transcription(data_dir: Path, batch_size: int) -> None:
    CountingModel.encodes = 0
    eng = _engine(data_dir, CountingModel, batch_size=batch_size)
    eng.load()
    try:
        assert CountingModel.encodes >= 1
        assert eng.name.startswith("faster-whisper tiny.en int8 cpu")
    finally:
        eng.close()


@pytest.mark.parametrize("batch_size", [1, 8])
def test_a_model_that_cannot_transcribe_fails_start_up(data_dir: Path, batch_size: int) -> None:
    eng = _engine(data_dir, CublasMissingModel, batch_size=batch_size)
    with pytest.raises(StartupError, match=r"libcublas\.so\.12"):
        eng.load()
    with pytest.raises(EngineUnavailable):
        eng.transcribe("lectures/waves.wav", TranscribeOptions(), lambda *_: None, threading.Event())


@pytest.fixture(scope="module")
def batched(data_dir: Path) -> Iterator[FasterWhisperEngine]:
    """The real tiny.en engine through BatchedInferencePipeline (the GPU default), two jobs at a time."""
    eng = _engine(data_dir, batch_size=8, max_concurrency=2)
    eng.load()
    yield eng
    eng.close()


def _words(transcript: transcript_pb2.Transcript) -> list[tuple[str, float, float]]:
    return [(w.text, round(w.start, 2), round(w.end, 2)) for s in transcript.segments for w in s.words]


def test_bare_batched_pipeline_needs_clips_without_vad(batched: FasterWhisperEngine) -> None:
    audio = np.zeros(35 * SAMPLE_RATE, dtype=np.float32)
    with pytest.raises(RuntimeError, match="No clip timestamps found"):
        BatchedInferencePipeline(batched._model).transcribe(audio, vad_filter=False)


def test_batched_without_vad_transcribes_long_audio(batched: FasterWhisperEngine) -> None:
    options = TranscribeOptions(vad_filter=False)
    transcript = batched.transcribe("lectures/waves.wav", options, lambda *_: None, threading.Event())
    assert transcript.duration >= 60
    assert "batch 8" in transcript.engine
    assert word_error_rate(LONG_TEXT, " ".join(s.text for s in transcript.segments)) <= 0.15
    words = _words(transcript)
    assert len(words) >= 150
    starts = [start for _text, start, _end in words]
    assert starts == sorted(starts) and 0 <= starts[0] and words[-1][2] <= transcript.duration + 0.5


def test_concurrent_batched_jobs_do_not_disturb_each_other(batched: FasterWhisperEngine) -> None:
    def run(path: str) -> transcript_pb2.Transcript:
        options = TranscribeOptions(vad_filter=False)
        return batched.transcribe(path, options, lambda *_: None, threading.Event())

    alone = {path: run(path) for path in ("lectures/waves.wav", "lectures/energy.mp4")}
    with ThreadPoolExecutor(2) as pool:
        together = dict(zip(alone, pool.map(run, alone), strict=True))
    for path, transcript in together.items():
        assert _words(transcript) == _words(alone[path]), path
    energy = " ".join(s.text for s in together["lectures/energy.mp4"].segments)
    assert word_error_rate(LECTURE_TEXT, energy) <= 0.10
