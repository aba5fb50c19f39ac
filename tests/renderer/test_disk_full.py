"""Disk full during a render: a clear RESOURCE_EXHAUSTED, no partial file, the previous snippet intact."""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from aiat.common.v1 import transcript_pb2
from aiat.renderer.v1 import renderer_pb2
from aiat_gateway.worker.clients import ServiceClients
from aiat_gateway.worker.errors import StepError
from aiat_renderer.engine import FfmpegEngine
from aiat_renderer.server import create_app
from tests.fixtures.grpc_app import serving
from tests.renderer.test_engine import NO_INTRO

DISK_FULL = "the server ran out of disk space while rendering the snippet"
WORDS = [transcript_pb2.Word(start=1.2, end=1.6, text="hello")]
PREVIOUS = {"a.mp4": b"previous video " * 500, "a.srt": b"1\n00:00:00,000 --> 00:00:01,000\nprevious\n"}


@pytest.fixture
async def clients(engine: FfmpegEngine) -> AsyncIterator[ServiceClients]:
    """The worker's real gRPC clients against a real renderer server on the test store."""
    async with serving(create_app(engine.settings, engine)) as port:
        renderer = ServiceClients("127.0.0.1:1", "127.0.0.1:1", f"127.0.0.1:{port}", ready_wait=10)
        try:
            yield renderer
        finally:
            await renderer.close()


@pytest.fixture
def snippets(media_root: Path) -> Iterator[Path]:
    """A fresh output directory of the store on a 64 KiB tmpfs, holding a snippet rendered before."""
    directory = media_root / "output" / uuid.uuid4().hex / "snippets"
    directory.mkdir(parents=True)
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(directory)]
    subprocess.run(mount, check=True, capture_output=True)
    try:
        for name, data in PREVIOUS.items():
            (directory / name).write_bytes(data)
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False, capture_output=True)


def request(media_root: Path, directory: Path) -> renderer_pb2.RenderRequest:
    """Ten seconds with captions and an .srt: far more than the disk holds."""
    captions = renderer_pb2.Captions(enabled=True, write_srt=True)
    return renderer_pb2.RenderRequest(
        source_path="long.mp4",
        start=0.0,
        end=10.0,
        output_path=(directory / "a.mp4").relative_to(media_root).as_posix(),
        words=WORDS,
        style=renderer_pb2.RenderStyle(intro=NO_INTRO, captions=captions),
    )


def assert_previous_intact(directory: Path) -> None:
    """Only the earlier snippet and its .srt, byte for byte: no partial or temporary file."""
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == PREVIOUS


async def test_a_full_disk_ends_the_render_with_resource_exhausted_and_no_partial_file(
    clients: ServiceClients, media_root: Path, snippets: Path
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        async for _ in clients.renderer.Render(request(media_root, snippets), timeout=120):
            pass
    assert failed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failed.value.details() == DISK_FULL
    assert_previous_intact(snippets)


async def test_the_worker_sees_disk_full_as_a_clear_retryable_step_error(
    clients: ServiceClients, media_root: Path, snippets: Path
) -> None:
    with pytest.raises(StepError) as failed:
        await clients.render(request(media_root, snippets), timeout=120)
    assert str(failed.value) == f"renderer: {DISK_FULL} (RESOURCE_EXHAUSTED)"
    assert not failed.value.permanent  # space may be freed before the next attempt
    assert_previous_intact(snippets)


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """RLIMIT_FSIZE for this process and the ffmpeg it starts (which gets SIGXFSZ's default: death)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # this process gets EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


async def test_a_file_size_limit_counts_as_disk_full(clients: ServiceClients, media_root: Path) -> None:
    directory = media_root / "output" / uuid.uuid4().hex / "snippets"
    directory.mkdir(parents=True)
    for name, data in PREVIOUS.items():
        (directory / name).write_bytes(data)
    with file_size_limit(64 << 10), pytest.raises(StepError) as failed:
        await clients.render(request(media_root, directory), timeout=120)
    assert str(failed.value) == f"renderer: {DISK_FULL} (RESOURCE_EXHAUSTED)"
    assert_previous_intact(directory)


async def test_an_unexpected_error_is_named_by_its_service_once(
    clients: ServiceClients, media_root: Path
) -> None:
    blocker = media_root / "output" / uuid.uuid4().hex
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"a file where the renderer needs a directory")
    bad = renderer_pb2.RenderRequest(
        source_path="clip.mp4",
        start=0.0,
        end=1.0,
        output_path=f"{blocker.relative_to(media_root).as_posix()}/snippets/a.mp4",
        style=renderer_pb2.RenderStyle(intro=NO_INTRO),
    )
    with pytest.raises(StepError) as failed:
        await clients.render(bad, timeout=60)
    assert str(failed.value) == "renderer: internal error (see the service log) (INTERNAL)"


async def test_a_video_that_cannot_be_published_puts_the_earlier_srt_back(
    clients: ServiceClients, media_root: Path
) -> None:
    """The .srt is published just before the .mp4's rename; when that rename fails, the earlier .srt returns."""
    directory = media_root / "output" / uuid.uuid4().hex / "snippets"
    (directory / "a.mp4").mkdir(parents=True)  # a directory in the way of the rename
    (directory / "a.mp4" / "keep").write_bytes(b"x")
    (directory / "a.srt").write_bytes(PREVIOUS["a.srt"])
    captions = renderer_pb2.Captions(enabled=True, write_srt=True)
    blocked = renderer_pb2.RenderRequest(
        source_path="clip.mp4",
        start=0.0,
        end=2.0,
        output_path=(directory / "a.mp4").relative_to(media_root).as_posix(),
        words=WORDS,
        style=renderer_pb2.RenderStyle(intro=NO_INTRO, captions=captions),
    )
    with pytest.raises(StepError):
        await clients.render(blocked, timeout=120)
    assert sorted(p.name for p in directory.iterdir()) == ["a.mp4", "a.srt"]
    assert (directory / "a.srt").read_bytes() == PREVIOUS["a.srt"]
