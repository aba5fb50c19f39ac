"""Digital silence: loudnorm's gain for a clip under 3 s is then infinite, and the AAC encoder refuses NaN."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from aiat.media import ffmpeg_exe
from aiat.renderer.v1 import renderer_pb2
from tests.renderer.test_engine import NO_CAPTIONS, Stub, render


@pytest.fixture(scope="module")
def silent_video(media_root: Path) -> str:
    """4 s of grey picture with a stereo track of exact zeros."""
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=320x240:r=25:d=4",
         "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "4", "-c:v", "libx264", "-c:a", "aac",
         str(media_root / "silent.mp4")],
        check=True,
    )  # fmt: skip
    return "silent.mp4"


async def test_a_short_silent_snippet_renders_with_normalisation_on(
    stub: Stub, media_root: Path, silent_video: str
) -> None:
    req = renderer_pb2.RenderRequest(
        source_path=silent_video, start=0.5, end=2.5, output_path="output/silent.mp4",
        style=renderer_pb2.RenderStyle(normalize_audio=True, captions=NO_CAPTIONS),
    )  # fmt: skip
    _, result = await render(stub, req)
    with av.open(str(media_root / "output" / "silent.mp4")) as c:
        samples = np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])
    assert result.duration > 1.9
    assert np.isfinite(samples).all() and np.abs(samples).max() < 1e-3
