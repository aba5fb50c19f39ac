"""What an engine service exposes besides its API: reflection only when switched on, metrics only on its own host."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import urllib.request
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from aiat.grpc_service import GrpcApp, check_health, serve
from aiat.net import free_port
from aiat.settings import GrpcServiceSettings
from aiat_transcriber.settings import TranscriberSettings
from tests.fixtures.grpc_app import serving

SERVICE = "aiat.test.v1.TestService"


async def list_services(target: str) -> list[str]:
    """The service names server reflection lists."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def one() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for resp in stub.ServerReflectionInfo(one(), timeout=5):
            return [s.name for s in resp.list_services_response.service]
    return []


@pytest.mark.parametrize("value", ["false", "true"])
async def test_reflection_can_be_switched_off_and_health_still_answers(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIAT_GRPC_REFLECTION", value)
    app = GrpcApp.for_settings(GrpcServiceSettings(), SERVICE, lambda server: None)
    async with serving(app) as port:
        target = f"127.0.0.1:{port}"
        assert await check_health(target, SERVICE) == "SERVING"
        if value == "false":
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await list_services(target)
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
        else:
            assert SERVICE in await list_services(target)


class Engine:
    """Nothing to load or close."""

    def load(self) -> None:
        """Ready at once."""

    def close(self) -> None:
        """Nothing held."""


def reachable(host: str, port: int) -> bool:
    """Whether a TCP connection to host:port is accepted."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def metrics_text(host: str, port: int) -> str:
    """The Prometheus page."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


async def run_until_serving(settings: GrpcServiceSettings) -> asyncio.Task[None]:
    """The real runner (serve()) until it reports SERVING."""
    running = asyncio.create_task(
        serve(GrpcApp.for_settings(settings, SERVICE, lambda s: None), Engine(), settings)
    )
    for _ in range(100):
        if await check_health(f"127.0.0.1:{settings.port}", SERVICE) == "SERVING":
            return running
        await asyncio.sleep(0.05)
    raise AssertionError("the service never reported SERVING")


async def stop(running: asyncio.Task[None]) -> None:
    """SIGTERM, as Kubernetes sends it: the runner's own handler drains and returns."""
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(running, 10)


async def test_metrics_listen_only_on_the_services_own_host() -> None:
    settings = GrpcServiceSettings(
        host="127.0.0.1", port=free_port(), metrics_port=free_port(), grace_seconds=0
    )
    port = settings.metrics_port
    assert port is not None
    running = await run_until_serving(settings)
    try:
        assert "python_info" in await asyncio.to_thread(metrics_text, "127.0.0.1", port)
        # All of 127.0.0.0/8 is this machine: a socket on 0.0.0.0 would accept here too.
        assert not await asyncio.to_thread(reachable, "127.0.0.2", port)
    finally:
        await stop(running)
    assert not await asyncio.to_thread(reachable, "127.0.0.1", port)  # closed with the service


async def test_metrics_host_setting_moves_only_the_metrics_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAT_TRANSCRIBER_METRICS_HOST", "127.0.0.2")
    assert TranscriberSettings().metrics_host == "127.0.0.2"
    settings = GrpcServiceSettings(
        host="127.0.0.1",
        port=free_port(),
        metrics_port=free_port(),
        metrics_host="127.0.0.2",
        grace_seconds=0,
    )
    port = settings.metrics_port
    assert port is not None
    running = await run_until_serving(settings)
    try:
        assert "python_info" in await asyncio.to_thread(metrics_text, "127.0.0.2", port)
        assert not await asyncio.to_thread(reachable, "127.0.0.1", port)
    finally:
        await stop(running)
