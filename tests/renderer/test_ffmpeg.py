"""The ffmpeg helpers with the real binary: progress, failure, cancellation, colour names, image sizes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from aiat.errors import Cancelled, EngineError, InvalidInput
from aiat.media import ffmpeg_exe, probe
from aiat_renderer.ffmpeg import ffmpeg_colors, probe_image, run_ffmpeg, write_text
from aiat_renderer.spec import RenderProgress


def _encode(seconds: float) -> list[str]:
    """An ffmpeg command (output file to append) encoding `seconds` of a test pattern, with progress."""
    return [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=25:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-f", "mp4", "-progress", "pipe:1", "-nostats",
    ]  # fmt: skip


def test_run_ffmpeg_reports_encoding_progress(tmp_path: Path) -> None:
    events: list[RenderProgress] = []
    out = tmp_path / "out.mp4"
    run_ffmpeg([*_encode(2.0), str(out)], 2.0, events.append, threading.Event(), tmp_path / "log")
    assert probe(out).duration == pytest.approx(2.0, abs=0.05)
    assert events and all(e.stage == "encoding" and e.total == 2.0 for e in events)
    done = [e.done for e in events]
    assert done == sorted(done) and 0 < done[-1] <= 2.0


def test_run_ffmpeg_failure_carries_the_log_tail(tmp_path: Path) -> None:
    args = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        str(tmp_path / "missing.mp4"),
    ]
    with pytest.raises(EngineError, match=r"ffmpeg failed \(exit \d+\): .*missing\.mp4"):
        run_ffmpeg(
            [*args, str(tmp_path / "out.mp4")], 1.0, lambda _: None, threading.Event(), tmp_path / "log"
        )


def test_run_ffmpeg_stops_when_cancelled(tmp_path: Path) -> None:
    cancel = threading.Event()
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_ffmpeg(
            [*_encode(600.0), str(tmp_path / "long.mp4")], 600.0, lambda _: None, cancel, tmp_path / "log"
        )
    timer.join()
    assert time.monotonic() - started < 10


def test_ffmpeg_colour_names() -> None:
    colors = ffmpeg_colors(ffmpeg_exe())
    assert colors["white"] == "ffffff"
    assert colors["darkorange"] == "ff8c00"
    assert all(len(rgb) == 6 and name == name.lower() for name, rgb in colors.items())


def test_probe_image(media_root: Path) -> None:
    assert probe_image(media_root / "logo.png").size == (64, 32)
    with pytest.raises(InvalidInput, match="not a PNG, JPEG or WebP image"):
        probe_image(media_root / "broken.mp4")


def test_write_text_has_no_trailing_newline(tmp_path: Path) -> None:
    path = write_text(tmp_path, "title0", "100% {done}")
    assert path == tmp_path / "title0.txt"
    assert path.read_bytes() == b"100% {done}"
