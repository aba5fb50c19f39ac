"""The analyzer server: health before the engine loads, and `python -m aiat_analyzer.server` as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aiat.grpc_service import check_health
from aiat_analyzer.factory import build_engine
from aiat_analyzer.server import create_app
from aiat_analyzer.servicer import SERVICE_NAME
from aiat_analyzer.settings import AnalyzerSettings
from tests.fixtures.grpc_app import serving


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_health_is_not_serving_until_the_engine_is_ready() -> None:
    """The health service reports NOT_SERVING between bind and engine load."""
    settings = AnalyzerSettings(port=0)
    app = create_app(settings, build_engine(settings))  # the llama engine, never loaded here
    async with serving(app, loaded=False) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        resp = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        assert resp.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await app.set_serving(True)
        resp = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_server_process_serves_and_drains_on_sigterm() -> None:
    """The server reaches SERVING and exits cleanly on SIGTERM."""
    port = _free_port()
    env = {**os.environ, "AIAT_ANALYZER_PORT": str(port), "AIAT_ANALYZER_GRACE_SECONDS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "aiat_analyzer.server"], env=env)
    try:
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline and status != "SERVING":
            assert proc.poll() is None, "server exited early"
            status = asyncio.run(check_health(f"127.0.0.1:{port}", "aiat.analyzer.v1.AnalyzerService"))
            time.sleep(0.2)
        assert status == "SERVING"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_server_process_that_cannot_load_its_engine_exits_2() -> None:
    """A vLLM sidecar that never answers is a start-up error: a log line saying why, exit code 2."""
    env = {
        **os.environ,
        "AIAT_ANALYZER_PORT": str(_free_port()),
        "AIAT_ANALYZER_ENGINE": "vllm",
        "AIAT_ANALYZER_VLLM_URL": "http://127.0.0.1:9/v1",
        "AIAT_ANALYZER_VLLM_STARTUP_TIMEOUT": "0.5",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "aiat_analyzer.server"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "cannot start" in proc.stderr and "not ready" in proc.stderr
