"""The worker's optional /healthz: 200 with NATS, both consumers and the database up; 503 naming what is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.worker.main import Worker
from tests.gateway.conftest import make_settings


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A NATS server of this test's own (the test stops it)."""
    with NatsServer(tmp_path / "nats") as server:
        yield server


async def probe(worker: Worker, path: str = "/healthz") -> httpx.Response:
    assert worker.health is not None
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(f"http://127.0.0.1:{worker.health.port}{path}")


async def until(worker: Worker, status: int, timeout: float = 20.0) -> httpx.Response:
    """Probe until the endpoint answers `status`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            resp = await probe(worker)
            if resp.status_code == status:
                return resp
        except httpx.TransportError:
            pass  # not listening yet
        assert asyncio.get_running_loop().time() < deadline, f"no {status} in time"
        await asyncio.sleep(0.1)


async def run(settings: GatewaySettings) -> tuple[Worker, asyncio.Event, asyncio.Task[None]]:
    worker = Worker(settings.model_copy(update={"worker_health_port": 0}))
    stop = asyncio.Event()
    return worker, stop, asyncio.create_task(worker.run(stop))


async def test_healthy_worker_answers_200_then_503_when_nats_goes(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    worker, stop, task = await run(make_settings(tmp_path, database_url, nats_server.url))
    try:
        resp = await until(worker, 200)
        assert resp.json() == {"status": "ok", "checks": {"nats": True, "consumers": True, "database": True}}
        assert (await probe(worker, "/other")).status_code == 404
        nats_server.stop()
        resp = await until(worker, 503)
        assert resp.json()["status"] == "down" and resp.json()["checks"]["nats"] is False
        assert resp.json()["checks"]["database"] is True
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert worker.health is not None and worker.health._server is None  # closed with the worker


async def test_unreachable_database_answers_503_naming_it(tmp_path: Path, nats_server: NatsServer) -> None:
    dead_db = f"postgresql://aiat:secret@127.0.0.1:{free_port()}/aiat"
    worker, stop, task = await run(make_settings(tmp_path, dead_db, nats_server.url))
    try:
        await until(worker, 503)
        deadline = asyncio.get_running_loop().time() + 20
        while True:  # once NATS and the consumers are up, only the database is left down
            body = (await probe(worker)).json()
            if body["checks"]["nats"] and body["checks"]["consumers"]:
                break
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        assert body == {"status": "down", "checks": {"nats": True, "consumers": True, "database": False}}
        assert "secret" not in (await probe(worker)).text
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_health_port_is_off_by_default_and_validated(tmp_path: Path) -> None:
    assert GatewaySettings().worker_health_port is None
    worker = Worker(GatewaySettings.model_validate({"data_dir": tmp_path}))
    assert worker.health is None
    await worker.close()
    with pytest.raises(ValueError):
        GatewaySettings.model_validate({"worker_health_port": 70000})
