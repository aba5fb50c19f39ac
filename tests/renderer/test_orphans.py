"""A renderer SIGKILLed mid-render takes its ffmpeg along: no encoder keeps running for nobody."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import psutil
import pytest

from aiat.grpc_service import check_health
from aiat.net import free_port
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from tests.fixtures.stack import wait_until
from tests.renderer.test_engine import NO_INTRO


@pytest.fixture
def renderer(media_root: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The renderer as its own process on the test store, encoding slowly (x264 `veryslow`)."""
    port = free_port()
    env = {
        **os.environ,
        "AIAT_DATA_DIR": str(media_root.parent),
        "AIAT_RENDERER_PORT": str(port),
        "AIAT_RENDERER_METRICS_PORT": str(free_port()),
        "AIAT_RENDERER_X264_PRESET": "veryslow",
    }
    with (tmp_path / "renderer.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiat_renderer.server"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield proc, f"127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def encoding(target: str, output: str) -> tuple[grpc.Channel, object]:
    """Start a 30 s render, return once ffmpeg reports progress; the call is kept open (no cancel)."""
    wait_until(
        "the renderer to serve", lambda: asyncio.run(check_health(target, timeout=1.0)) == "SERVING", 60
    )
    channel = grpc.insecure_channel(target)
    request = renderer_pb2.RenderRequest(
        source_path="long.mp4",
        start=0.0,
        end=30.0,
        output_path=output,
        style=renderer_pb2.RenderStyle(intro=NO_INTRO),
    )
    call = renderer_pb2_grpc.RendererServiceStub(channel).Render(request, timeout=120)
    for event in call:
        if event.WhichOneof("event") == "progress" and event.progress.stage == "encoding":
            return channel, call
    raise AssertionError("the render ended before ffmpeg reported progress")


def gone(proc: psutil.Process) -> bool:
    """Exited (a zombie nobody reaped counts: it runs no more)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_ffmpeg_dies_with_a_sigkilled_renderer(
    renderer: tuple[subprocess.Popen[bytes], str], media_root: Path
) -> None:
    proc, target = renderer
    channel, _call = encoding(target, "output/orphans/snippets/a.mp4")
    children = [p for p in psutil.Process(proc.pid).children(recursive=True) if "ffmpeg" in p.name()]
    assert len(children) == 1, children
    ffmpeg = children[0]
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        started = time.monotonic()
        wait_until("ffmpeg to die with the renderer", lambda: gone(ffmpeg), 5)
        print(f"ffmpeg gone {time.monotonic() - started:.2f} s after the renderer's SIGKILL")
    finally:
        if not gone(ffmpeg):
            ffmpeg.kill()
        channel.close()
