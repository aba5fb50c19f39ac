"""A brand logo is a store file any gRPC caller names: it is opened as one still image, never as a playlist."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import grpc
import numpy as np
import pytest

from aiat.media import ffmpeg_exe
from aiat.renderer.v1 import renderer_pb2
from tests.fakes.canary import Canary
from tests.renderer.test_engine import NO_CAPTIONS, NO_INTRO, Stub, render
from tests.renderer.test_layouts import frames


def still(path: Path, color: str, size: str) -> None:
    """One frame of `color` written to exactly `path` (no numbered-sequence naming)."""
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={color}:s={size}", "-frames:v", "1",
         "-update", "1", str(path)],
        check=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def grey(media_root: Path) -> str:
    """A 2 s flat grey source, so the logo's pixels stand out; brand1.png, what `brand%d.png` would expand to."""
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=320x180:r=25:d=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(media_root / "grey.mp4")],
        check=True,
    )  # fmt: skip
    still(media_root / "brand1.png", "blue", "48x48")
    return "grey.mp4"


def logo_request(source: str, logo: str, name: str) -> renderer_pb2.RenderRequest:
    """A bare landscape render of `source` with `logo` as the brand logo."""
    style = renderer_pb2.RenderStyle(
        intro=NO_INTRO, captions=NO_CAPTIONS, normalize_audio=False, brand=renderer_pb2.Brand(logo_path=logo)
    )
    return renderer_pb2.RenderRequest(
        source_path=source, start=0.0, end=1.0, output_path=f"output/{name}.mp4", style=style
    )


async def test_a_playlist_logo_is_refused_before_it_opens_what_it_names(
    stub: Stub, media_root: Path, canary: Canary
) -> None:
    fifo = media_root / "other-session-lecture.mp4"
    os.mkfifo(fifo)
    opened = threading.Event()

    def watch() -> None:
        fd = os.open(fifo, os.O_WRONLY)  # blocks until somebody opens the FIFO for reading
        opened.set()
        os.close(fd)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    (media_root / "brand.m3u8").write_bytes(
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
        + f"{fifo}\n#EXTINF:10,\n{canary.url}/segment1.ts\n#EXT-X-ENDLIST\n".encode()
    )
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await render(stub, logo_request("clip.mp4", "brand.m3u8", "playlist-logo"))
        assert not opened.is_set() and canary.hits == []
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not a PNG, JPEG or WebP image" in (err.value.details() or "")
        assert not (media_root / "output/playlist-logo.mp4").exists()
    finally:
        if not opened.is_set():
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # release the watcher
        watcher.join(5)
        fifo.unlink()


@pytest.mark.parametrize("logo", ["brand%d.png", "brand.jpg", "brand.webp"])
async def test_a_logo_is_one_still_image_even_when_named_like_a_sequence(
    stub: Stub, media_root: Path, grey: str, logo: str
) -> None:
    # Red 64x32 under the literal name; as an image2 sequence, brand%d.png would read the blue square brand1.png.
    still(media_root / logo, "red", "64x32")
    _, result = await render(stub, logo_request(grey, logo, f"logo-{Path(logo).suffix[1:]}"))
    shot = frames(media_root / result.output_path, {0})[0].astype(np.int16)
    # 320x180 output: the logo is 44 px wide (14 %) at x = 320 - 44 - 9, y = 9; 64x32 keeps it 22 px high.
    box, below = shot[12:29, 270:308], shot[34:50, 270:308]
    red = np.array([255, 0, 0])
    assert np.abs(box - red).max(axis=2).mean() < 60, "the literal red logo is drawn"
    assert np.abs(below - red).max(axis=2).mean() > 100, "at its own aspect, not the sequence's square"
    assert not (np.abs(shot - np.array([0, 0, 255])).max(axis=2) < 60).any(), "nothing of brand1.png"
