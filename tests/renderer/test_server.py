"""The server process: health NOT_SERVING until the encoder probe is done, metrics, SIGTERM drain."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from aiat.grpc_service import check_health
from aiat_renderer import server
from aiat_renderer.engine import FfmpegEngine
from aiat_renderer.settings import RendererSettings


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(target: str, status: str, timeout: float = 60.0) -> list[str]:
    """Poll health until `status`; every distinct status seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await check_health(target, timeout=1.0)
        if not seen or seen[-1] != got:
            seen.append(got)
        if got == status:
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"health never became {status}: {seen}")


async def test_not_serving_until_encoder_probe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: RendererSettings
) -> None:
    release = threading.Event()
    original = FfmpegEngine.load

    def slow_load(self: FfmpegEngine) -> None:
        release.wait(30)
        original(self)

    monkeypatch.setattr(FfmpegEngine, "load", slow_load)
    port = free_port()
    cfg = settings.model_copy(update={"port": port, "data_dir": tmp_path})
    task = asyncio.create_task(server.serve(cfg))
    target = f"127.0.0.1:{port}"
    seen = await wait_for(target, "NOT_SERVING")
    await asyncio.sleep(0.3)
    assert await check_health(target) == "NOT_SERVING"
    release.set()
    seen += await wait_for(target, "SERVING")
    assert "SERVING" in seen
    os.kill(os.getpid(), signal.SIGTERM)  # run_service's handler: drain and return
    await asyncio.wait_for(task, 30)


async def test_server_process_serves_and_exits_on_sigterm(tmp_path: Path) -> None:
    port, metrics = free_port(), free_port()
    env = {
        **os.environ,
        "AIAT_DATA_DIR": str(tmp_path),
        "AIAT_RENDERER_PORT": str(port),
        "AIAT_RENDERER_METRICS_PORT": str(metrics),
        "AIAT_RENDERER_GRACE_SECONDS": "5",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiat_renderer.server", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_for(f"127.0.0.1:{port}", "SERVING")
        body = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read().decode()
        )
        assert 'aiat_renderer_encoder_info{encoder="libx264"' in body
        assert "aiat_renderer_nvenc 0.0" in body
        assert 'aiat_queue_depth{service="renderer"}' in body
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert "video encoder: libx264" in err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_missing_default_font_is_a_startup_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AIAT_DATA_DIR": str(tmp_path),
        "AIAT_RENDERER_PORT": str(free_port()),
        "AIAT_RENDERER_FONT": str(tmp_path / "missing.ttf"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiat_renderer.server", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, err.decode()
    assert "cannot start: default font" in err.decode()


async def test_missing_ffmpeg_is_a_startup_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AIAT_DATA_DIR": str(tmp_path),
        "AIAT_RENDERER_PORT": str(free_port()),
        "AIAT_FFMPEG": str(tmp_path / "no-ffmpeg"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiat_renderer.server", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, err.decode()
    assert "cannot start: ffmpeg is not usable" in err.decode()
