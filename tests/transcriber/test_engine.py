"""The faster-whisper engine without gRPC: not usable before load(), chunked transcription."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aiat.errors import EngineUnavailable
from aiat_transcriber.engine import FasterWhisperEngine, TranscribeOptions, build_engine
from aiat_transcriber.settings import TranscriberSettings
from tests.transcriber.conftest import LECTURE_TEXT
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
