"""Renderer fixtures: a media store with generated clips, a loaded engine, an in-process gRPC server."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from aiat.media import ffmpeg_exe
from aiat.renderer.v1 import renderer_pb2_grpc
from aiat_renderer.engine import FfmpegEngine, build_engine
from aiat_renderer.server import create_app
from aiat_renderer.settings import RendererSettings
from tests.fixtures.grpc_app import serving
from tests.fixtures.media import counter_video

FPS = 25


def _beep_wav(out: Path, seconds: float, at: float) -> Path:
    """Silence with a 0.2 s 1 kHz beep starting at `at` seconds."""
    graph = f"sine=frequency=1000:sample_rate=48000:duration=0.2,adelay={int(at * 1000)}:all=1,apad"
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", graph, "-t", str(seconds), str(out)],
        check=True,
    )
    return out


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A media store with short generated sources (frame n of each shows the number n)."""
    root = tmp_path_factory.mktemp("renderer-data") / "media"
    counter_video(root / "clip.mp4", 4, fps=FPS, width=320, height=180)
    counter_video(root / "long.mp4", 30, fps=FPS, width=320, height=180)
    counter_video(root / "intro.mp4", 1, fps=FPS, width=320, height=180)
    counter_video(
        root / "beep.mp4", 4, fps=FPS, width=320, height=180, audio=_beep_wav(root / "beep.wav", 4, 2.0)
    )
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=64x32", "-frames:v", "1",
         str(root / "logo.png")],
        check=True,
    )  # fmt: skip
    (root / "broken.mp4").write_bytes(b"this is not a video\n" * 100)
    return root


@pytest.fixture(scope="session")
def settings(media_root: Path) -> RendererSettings:
    """Settings for the test store; encoder probed once (libx264 here)."""
    return RendererSettings(
        data_dir=media_root.parent, port=0, x264_preset="ultrafast", max_concurrency=1, max_queue=4
    )


@pytest.fixture(scope="session")
def engine(settings: RendererSettings) -> FfmpegEngine:
    """A loaded FFmpeg engine on the test store."""
    eng = build_engine(settings)
    eng.load()
    return eng


Serve = Callable[..., Awaitable[renderer_pb2_grpc.RendererServiceStub]]


@pytest.fixture
async def serve(engine: FfmpegEngine) -> AsyncIterator[Serve]:
    """Start in-process servers on port 0 for given settings; returns an async factory of stubs."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(settings: RendererSettings | None = None) -> renderer_pb2_grpc.RendererServiceStub:
            port = await stack.enter_async_context(serving(create_app(settings or engine.settings, engine)))
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
            return renderer_pb2_grpc.RendererServiceStub(channel)

        yield start


@pytest.fixture
async def stub(serve: Serve) -> renderer_pb2_grpc.RendererServiceStub:
    """A stub on a server with the default test settings."""
    return await serve()
