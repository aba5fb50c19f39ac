"""Fixtures for the transcriber tests: the real tiny.en engine and generated espeak-ng speech."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aiat.common.v1 import transcript_pb2
from aiat.errors import EngineError
from aiat_transcriber.engine import (
    FasterWhisperEngine,
    ProgressFn,
    TranscribeOptions,
    TranscriptionEngine,
    build_engine,
)
from aiat_transcriber.settings import TranscriberSettings
from tests.fixtures.media import lecture_video, speech_wav

LECTURE_TEXT = (
    "Today we talk about the conservation of energy. Energy cannot be created or destroyed, "
    "it only changes its form. A ball that falls from a table turns potential energy into kinetic "
    "energy. When it hits the floor, some of that energy becomes heat and sound."
)

LONG_TEXT = " ".join(
    [
        "In this part of the course we study waves and how they carry energy through a medium.",
        "A wave on a string moves up and down while the wave itself travels along the string.",
        "The distance between two crests is called the wavelength, and the number of crests that pass",
        "a point every second is the frequency. Sound is a pressure wave in the air around us.",
        "Light is an electromagnetic wave and needs no medium at all. When two waves meet they add up,",
        "and we call this interference. Standing waves appear on a guitar string fixed at both ends.",
        "Next week we will measure the speed of sound in the laboratory with a tuning fork and a tube.",
    ]
    * 2
)


@pytest.fixture(scope="session")
def engine(data_dir: Path) -> Iterator[FasterWhisperEngine]:
    """The real CPU engine (bundled tiny.en, int8) on the test store, loaded once for the whole run."""
    eng = build_engine(TranscriberSettings(data_dir=data_dir, device="cpu"))
    eng.load()
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AIAT data dir whose media store holds the generated test media."""
    root = tmp_path_factory.mktemp("aiat-data")
    media = root / "media"
    lecture_video(media / "lectures" / "energy.mp4", LECTURE_TEXT)
    speech_wav(LONG_TEXT, media / "lectures" / "waves.wav")
    (media / "notes.txt").write_text("this is not a media file\n")
    return root


@dataclass
class RecordingEngine:
    """Delegates to the real engine and records how each call ended (for cancellation tests)."""

    inner: TranscriptionEngine
    progress: list[tuple[float, float]] = field(default_factory=list)
    outcome: BaseException | transcript_pb2.Transcript | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        """The inner engine's name."""
        return self.inner.name

    def load(self) -> None:
        """Load the inner engine."""
        self.inner.load()

    def close(self) -> None:
        """Nothing to release: the inner engine is shared."""

    def transcribe(
        self, media_path: str, options: TranscribeOptions, on_progress: ProgressFn, cancel: threading.Event
    ) -> transcript_pb2.Transcript:
        """Run the inner engine, recording progress and the outcome."""

        def record(done: float, total: float) -> None:
            self.progress.append((done, total))
            on_progress(done, total)

        try:
            self.outcome = self.inner.transcribe(media_path, options, record, cancel)
            return self.outcome
        except EngineError as exc:
            self.outcome = exc
            raise
        finally:
            self.finished.set()
