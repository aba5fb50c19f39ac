"""Engine pieces without gRPC: settings, model resolution, chunked decoding, the timeline."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from aiat.errors import Cancelled, EngineUnavailable
from aiat_transcriber.audio import SAMPLE_RATE, iter_audio_chunks
from aiat_transcriber.engine import (
    EngineConfig,
    FasterWhisperEngine,
    MediaFile,
    ModelNotFound,
    Timeline,
    TranscribeOptions,
    resolve_model,
)
from aiat_transcriber.settings import TranscriberSettings
from tests.transcriber.conftest import LECTURE_TEXT
from tests.transcriber.wer import word_error_rate


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAT_TRANSCRIBER_MODEL", "large-v3-turbo")
    monkeypatch.setenv("AIAT_TRANSCRIBER_DEVICE", "cuda")
    monkeypatch.setenv("AIAT_TRANSCRIBER_BATCH_SIZE", "16")
    monkeypatch.setenv("AIAT_TRANSCRIBER_MAX_CONCURRENCY", "2")
    settings = TranscriberSettings()
    config = EngineConfig.from_settings(settings)
    assert (config.model, config.device, config.batch_size, config.num_workers) == (
        "large-v3-turbo",
        "cuda",
        16,
        2,
    )
    assert settings.port == 50051


def test_settings_reject_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAT_TRANSCRIBER_DEVICE", "tpu")
    with pytest.raises(ValueError, match="device"):
        TranscriberSettings()


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"does not exist or has no model\.bin"):
        resolve_model(str(tmp_path / "no-such-model"), "", "cpu")


def test_model_names_are_never_downloaded(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="never downloaded"):
        resolve_model("large-v3-turbo", str(tmp_path), "cuda")


def test_default_cpu_model_is_the_bundled_tiny_en() -> None:
    path, label = resolve_model("", "", "cpu")
    assert label == "tiny.en"
    assert (Path(path) / "model.bin").is_file()


def test_unloaded_engine_is_unavailable(data_dir: Path) -> None:
    media = MediaFile(data_dir / "media" / "lectures" / "energy.mp4", 18.0)
    with pytest.raises(EngineUnavailable):
        FasterWhisperEngine(EngineConfig()).transcribe(
            media, TranscribeOptions(), lambda *_: None, threading.Event()
        )


def test_chunks_cover_the_audio_exactly(data_dir: Path) -> None:
    path = data_dir / "media" / "lectures" / "waves.wav"
    chunks = list(iter_audio_chunks(path, chunk_seconds=20))
    assert len(chunks) >= 3
    whole = decode_audio(str(path))
    joined = np.concatenate([c.samples for c in chunks])
    np.testing.assert_array_equal(joined, whole)
    offset = 0.0
    for chunk in chunks:
        assert chunk.offset == pytest.approx(offset)
        assert chunk.seconds <= 20.0
        offset += chunk.seconds


def test_chunks_are_cut_in_a_pause(data_dir: Path) -> None:
    path = data_dir / "media" / "lectures" / "waves.wav"
    chunks = list(iter_audio_chunks(path, chunk_seconds=20))
    for chunk in chunks[1:]:
        around_cut = chunk.samples[: SAMPLE_RATE // 20]
        assert float(np.abs(around_cut).max()) < 0.05, "a chunk boundary fell inside speech"


def test_decoding_stops_when_cancelled(data_dir: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        list(iter_audio_chunks(data_dir / "media" / "lectures" / "waves.wav", 20, cancel))


def test_chunked_transcription_matches_the_text(data_dir: Path, engine: FasterWhisperEngine) -> None:
    chunked = FasterWhisperEngine(EngineConfig(device="cpu", chunk_seconds=10))
    chunked._model, chunked._name = engine._model, engine.name  # share the loaded model
    media = MediaFile(data_dir / "media" / "lectures" / "energy.mp4", 18.5)
    transcript = chunked.transcribe(media, TranscribeOptions(), lambda *_: None, threading.Event())
    assert word_error_rate(LECTURE_TEXT, " ".join(s.text for s in transcript.segments)) <= 0.10
    ends = [s.end for s in transcript.segments]
    assert ends == sorted(ends)


@dataclass
class _Word:
    start: float
    end: float
    word: str
    probability: float = 0.9


@dataclass
class _Segment:
    start: float
    end: float
    text: str
    words: list[_Word] = field(default_factory=list)
    avg_logprob: float = -0.2
    no_speech_prob: float = 0.01


def test_timeline_offsets_orders_and_clamps() -> None:
    timeline = Timeline(duration=12.0)
    first = timeline.place(
        _Segment(0.5, 3.0, " One two.", [_Word(0.5, 1.0, " One"), _Word(0.9, 3.2, " two.")]), 0.0
    )
    assert (first.start, first.end) == (0.5, 3.2)
    assert [(w.text, w.start, w.end) for w in first.words] == [("One", 0.5, 1.0), ("two.", 1.0, 3.2)]
    # A segment of the next chunk that overlaps the previous one, and one past the end of the media.
    second = timeline.place(_Segment(-0.5, 1.0, " Three."), 3.0)
    assert (second.id, second.start, second.end) == (1, 3.2, 4.0)
    third = timeline.place(_Segment(8.0, 11.0, " Four.", [_Word(8.0, 11.0, " Four.")]), 3.0)
    assert (third.start, third.end) == (11.0, 12.0)
    assert (third.words[0].start, third.words[0].end) == (11.0, 12.0)
