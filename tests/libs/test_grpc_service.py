"""The shared service runner: NOT_SERVING until loaded, SERVING after, a failed load cleans up and raises."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pytest

from aiat.errors import StartupError
from aiat.grpc_service import GrpcApp, check_health, serve
from aiat.net import free_port
from aiat.settings import GrpcServiceSettings

SERVICE = "aiat.test.v1.TestService"


class GatedEngine:
    """An engine whose load waits for a gate (or fails), recording close()."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.gate = threading.Event()
        self.closed = threading.Event()

    def load(self) -> None:
        self.gate.wait(10)
        if self.fail:
            raise StartupError("model missing")

    def close(self) -> None:
        self.closed.set()


def _settings() -> tuple[GrpcServiceSettings, str]:
    port = free_port()
    return GrpcServiceSettings(port=port, grace_seconds=0.5), f"127.0.0.1:{port}"


async def _status_soon(target: str, wanted: str) -> str:
    status = ""
    for _ in range(100):
        status = await check_health(target, SERVICE)
        if status == wanted:
            break
        await asyncio.sleep(0.05)
    return status


async def test_health_follows_the_engine_and_sigterm_drains_then_closes() -> None:
    settings, target = _settings()
    engine = GatedEngine()
    running = asyncio.create_task(
        serve(GrpcApp.for_settings(settings, SERVICE, lambda s: None), engine, settings)
    )
    assert await _status_soon(target, "NOT_SERVING") == "NOT_SERVING"
    engine.gate.set()
    assert await _status_soon(target, "SERVING") == "SERVING"
    os.kill(os.getpid(), signal.SIGTERM)  # the runner's own handler: drain and return
    await asyncio.wait_for(running, 10)
    assert engine.closed.is_set()
    assert (await check_health(target, SERVICE)).startswith("UNAVAILABLE")


async def test_a_failed_load_stops_the_server_closes_the_engine_and_raises() -> None:
    settings, target = _settings()
    engine = GatedEngine(fail=True)
    running = asyncio.create_task(
        serve(GrpcApp.for_settings(settings, SERVICE, lambda s: None), engine, settings)
    )
    assert await _status_soon(target, "NOT_SERVING") == "NOT_SERVING"
    engine.gate.set()
    with pytest.raises(StartupError, match="model missing"):
        await asyncio.wait_for(running, 10)
    assert engine.closed.is_set()
    assert (await check_health(target, SERVICE)).startswith("UNAVAILABLE")
