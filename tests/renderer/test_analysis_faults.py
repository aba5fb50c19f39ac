"""Region analysis is best effort: when it fails the snippet is still rendered, framed as with no evidence."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aiat.media import ffmpeg_exe
from aiat.renderer.v1 import renderer_pb2
from aiat_renderer import regions
from tests.renderer.test_engine import NO_INTRO, Stub, render
from tests.renderer.test_layouts import frames


def vertical(source: str, start: float, end: float, name: str) -> renderer_pb2.RenderRequest:
    """An auto-layout vertical render (the layout that needs the analysis)."""
    style = renderer_pb2.RenderStyle(
        aspect=renderer_pb2.ASPECT_VERTICAL, intro=NO_INTRO, normalize_audio=False
    )
    return renderer_pb2.RenderRequest(
        source_path=source, start=start, end=end, output_path=f"output/{name}.mp4", style=style
    )


@pytest.fixture(scope="module")
def short_video(media_root: Path) -> str:
    """2 s of video and 4 s of audio."""
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2",
         "-f", "lavfi", "-i", "sine=d=4:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", str(media_root / "short-video.mp4")],
        check=True,
    )  # fmt: skip
    return "short-video.mp4"


async def test_a_video_track_that_ends_before_the_audio_still_renders(stub: Stub, short_video: str) -> None:
    # Every analysis sample of 1.9-3.9 s falls after the last video frame.
    _, result = await render(stub, vertical(short_video, 1.9, 3.9, "short-video"))
    assert result.layout == renderer_pb2.LAYOUT_CROP and result.speaker.w == 0
    assert (result.width, result.height) == (1080, 1920) and result.duration > 1.8


async def test_a_missing_face_cascade_still_renders(
    stub: Stub, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(regions, "_face_detector", None)
    monkeypatch.setattr(regions, "FACE_CASCADE", "no-such-cascade.xml")  # OpenCV finds no such file
    _, result = await render(stub, vertical("clip.mp4", 1.0, 2.0, "no-cascade"))
    assert result.layout == renderer_pb2.LAYOUT_CROP
    assert frames(media_root / result.output_path, {0})[0].shape == (1920, 1080, 3)
