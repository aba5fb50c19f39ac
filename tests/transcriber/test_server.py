"""The real `aiat-transcriber` process: SERVING after load, metrics, SIGTERM drains in-flight work."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc

from aiat.grpc_service import check_health
from aiat.net import free_port
from aiat.transcriber.v1 import transcriber_pb2, transcriber_pb2_grpc


def _start(data_dir: Path, **env: str) -> subprocess.Popen[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIAT_")}
    environ.update({"AIAT_DATA_DIR": str(data_dir), **env})
    return subprocess.Popen(
        [sys.executable, "-m", "aiat_transcriber.server"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def _wait_serving(target: str, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline and proc.poll() is None:
        status = await check_health(target, timeout=1.0)
        if status == "SERVING":
            break
        await asyncio.sleep(0.2)
    return status


async def test_process_serves_then_drains_on_sigterm(data_dir: Path) -> None:
    port, metrics_port = free_port(), free_port()
    proc = _start(
        data_dir,
        AIAT_TRANSCRIBER_PORT=str(port),
        AIAT_TRANSCRIBER_METRICS_PORT=str(metrics_port),
        AIAT_TRANSCRIBER_DEVICE="cpu",
    )
    try:
        status = await _wait_serving(f"127.0.0.1:{port}", proc, timeout=90)
        assert status == "SERVING", f"health: {status}; exit code {proc.poll()}"
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        metrics = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())
        assert 'aiat_queue_depth{service="transcriber"} 0.0' in metrics
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = transcriber_pb2_grpc.TranscriberServiceStub(channel)
            call = stub.Transcribe(transcriber_pb2.TranscribeRequest(media_path="lectures/energy.mp4"))
            first = await call.read()
            assert first.WhichOneof("event") == "progress"
            proc.send_signal(signal.SIGTERM)  # mid-transcription: the call must still complete
            rest = []
            while (event := await call.read()) is not grpc.aio.EOF:  # type: ignore[attr-defined]
                rest.append(event)
        assert rest[-1].WhichOneof("event") == "transcript"
        assert rest[-1].transcript.segments
        output, _ = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output.decode(errors="replace")
    assert b"stopped" in output


async def test_missing_model_is_a_clear_startup_error(tmp_path: Path) -> None:
    proc = _start(
        tmp_path, AIAT_TRANSCRIBER_PORT=str(free_port()), AIAT_TRANSCRIBER_MODEL=str(tmp_path / "nope")
    )
    output, _ = await asyncio.to_thread(proc.communicate, timeout=60)
    assert proc.returncode == 2
    assert b"does not exist or has no model.bin" in output
