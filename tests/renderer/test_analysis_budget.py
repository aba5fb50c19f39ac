"""Region analysis of store media is bounded: it seeks over long sources and stops at its time budget."""

from __future__ import annotations

import copy
import subprocess
import time
from pathlib import Path

import pytest

from aiat.aspect import Aspect
from aiat.framing import Layout
from aiat.media import ffmpeg_exe
from aiat_renderer.engine import FfmpegEngine
from aiat_renderer.regions import AnalysisTimeout, analyze
from aiat_renderer.spec import RenderSpec
from tests.renderer.slides import slide_lecture

HALF_HOUR = 1800.0


@pytest.fixture(scope="module")
def half_hour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30-minute 320x180 source: a 10 s clip (a key frame every 2 s) repeated by stream copy."""
    root = tmp_path_factory.mktemp("long")
    part, whole = root / "part.mp4", root / "half-hour.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=10",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", str(part)],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", str(int(HALF_HOUR / 10) - 1), "-i", str(part),
         "-c", "copy", str(whole)],
        check=True,
    )  # fmt: skip
    return whole


def test_a_half_hour_source_is_sampled_by_seeking(half_hour: Path) -> None:
    # Decoding all 45,000 frames takes ~25 s here; sixteen seeks and a GOP of decoding each, well under one.
    started = time.perf_counter()
    found = analyze(half_hour, 0.0, HALF_HOUR - 1, samples=16)
    assert time.perf_counter() - started < 4.0
    assert found.seconds < 4.0


def test_analysis_stops_at_its_time_budget(half_hour: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(AnalysisTimeout):
        analyze(half_hour, 0.0, HALF_HOUR - 1, samples=120, timeout=0.05)
    assert time.perf_counter() - started < 0.5


def test_past_the_budget_the_snippet_is_framed_without_regions(
    engine: FfmpegEngine, media_root: Path, tmp_path: Path
) -> None:
    slide_lecture(media_root / "budget-lecture.mp4", 6.0)
    spec = RenderSpec("budget-lecture.mp4", 0.5, 5.5, "output/budget.mp4", aspect=Aspect.VERTICAL)
    framed = engine.command(spec, tmp_path).framing
    assert framed is not None and framed.layout == Layout.STACK  # the slide and the speaker are found
    hurried = copy.copy(engine)
    hurried.settings = engine.settings.model_copy(update={"analysis_timeout_seconds": 0.001})
    framed = hurried.command(spec, tmp_path).framing
    assert framed is not None and framed.layout == Layout.CROP and framed.slide is None
