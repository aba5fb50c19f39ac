"""The renderer writes only under output/ of the store: through the real gRPC server, escapes are refused unwritten."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import grpc
import pytest

from aiat.common.v1 import transcript_pb2
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from tests.renderer.test_engine import NO_INTRO, render

Stub = renderer_pb2_grpc.RendererServiceStub
SOURCE = "sessions/9/source/lecture.mp4"
SRT = "sessions/9/source/lecture.srt"
WORDS = [transcript_pb2.Word(start=1.2, end=1.6, text="hello")]


@pytest.fixture(scope="module")
def store(media_root: Path) -> Path:
    """Another session's lecture and subtitles, and links planted under output/ that point at them."""
    (media_root / "sessions/9/source").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(media_root / "clip.mp4", media_root / SOURCE)
    (media_root / SRT).write_text("1\n00:00:00,000 --> 00:00:01,000\nprivate\n")
    snippets = media_root / "output/9/snippets"
    snippets.mkdir(parents=True, exist_ok=True)
    (media_root / "output/9/link").symlink_to("../../sessions/9/source", target_is_directory=True)
    (snippets / "file-link.mp4").symlink_to("../../../" + SOURCE)
    (snippets / "srt-link.srt").symlink_to("../../../" + SRT)
    return media_root


def snapshot(root: Path) -> dict[str, str]:
    """Every entry of the store: a link's target, or a file's content hash."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                entries[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def request(output_path: str) -> renderer_pb2.RenderRequest:
    """A short render with captions and its .srt, to `output_path`."""
    captions = renderer_pb2.Captions(enabled=True, write_srt=True)
    style = renderer_pb2.RenderStyle(intro=NO_INTRO, captions=captions)
    return renderer_pb2.RenderRequest(
        source_path="clip.mp4", start=1.0, end=2.0, output_path=output_path, words=WORDS, style=style
    )


@pytest.mark.parametrize(
    "output_path",
    [
        SOURCE,  # another session's lecture, named directly
        "lecture.mp4",  # the store's root
        "output2/x.mp4",  # a sibling whose name starts like output
        "output/../sessions/9/source/lecture.mp4",
        "output/9/link/lecture.mp4",  # a directory link out of output/
        "output/9/snippets/file-link.mp4",  # a file link out of output/
        "output/9/snippets/srt-link.mp4",  # its .srt would be written through a link out of output/
    ],
)
async def test_output_outside_output_dir_is_invalid_and_nothing_is_written(
    stub: Stub, store: Path, output_path: str
) -> None:
    before = snapshot(store)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await render(stub, request(output_path))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "output/" in (refused.value.details() or "")
    assert snapshot(store) == before


async def test_output_under_output_dir_is_written_with_its_srt(stub: Stub, store: Path) -> None:
    _, result = await render(stub, request("output/9/snippets/ok.mp4"))
    assert result.output_path == "output/9/snippets/ok.mp4"
    assert result.srt_path == "output/9/snippets/ok.srt"
    assert (store / result.output_path).stat().st_size == result.size_bytes
    assert "hello" in (store / result.srt_path).read_text()
