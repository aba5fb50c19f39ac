"""/readyz is open and skips admission: a flood of probes shares one check instead of one check each.

The real gateway app on a real uvicorn server, with a real gRPC health server counting the checks it gets.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import uvicorn
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.api.app import create_app
from aiat_gateway.db.migrate import upgrade
from tests.gateway.conftest import make_settings


class CountingHealth(health.HealthServicer):
    """The standard health service, counting Check calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def Check(self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext) -> object:
        self.calls += 1
        return super().Check(request, context)


def test_200_concurrent_readyz_make_at_most_a_couple_of_checks(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
    upgrade(url)
    counting = CountingHealth()
    counting.set("", health_pb2.HealthCheckResponse.SERVING)
    grpc_server = grpc.server(ThreadPoolExecutor(8))
    health_pb2_grpc.add_HealthServicer_to_server(counting, grpc_server)
    grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    addr = f"127.0.0.1:{grpc_port}"
    with NatsServer(tmp_path / "nats") as nats:
        settings = make_settings(
            tmp_path, url, nats.url, transcriber_addr=addr, analyzer_addr=addr, renderer_addr=addr
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning")
        )
        thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 15
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline
                time.sleep(0.02)
            base = f"http://127.0.0.1:{server.config.port}"

            async def flood() -> list[int]:
                limits = httpx.Limits(max_connections=200)
                async with httpx.AsyncClient(base_url=base, timeout=20, limits=limits) as client:
                    answers = await asyncio.gather(*(client.get("/readyz") for _ in range(200)))
                return [a.status_code for a in answers]

            started = time.monotonic()
            statuses = asyncio.run(flood())
            took = time.monotonic() - started
            assert statuses == [200] * 200, sorted(set(statuses))
            # Three services per check (all on this one server): one check, or two if the flood crossed the TTL.
            assert counting.calls <= 2 * 3, f"{counting.calls} health checks for 200 probes in {took:.1f} s"
            time.sleep(1.1)  # past the cache's life: the next probe checks again
            before = counting.calls
            assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
            assert counting.calls == before + 3
            # A dependency that fails is named within about a second (the cache's life plus a check).
            counting.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
            failed_at = time.monotonic()
            while True:
                # Timed when sent, not when answered: a busy machine may answer a cached 200 late.
                sent = time.monotonic() - failed_at
                ready = httpx.get(f"{base}/readyz", timeout=5)
                if ready.status_code != 200:
                    break
                assert sent < 2.5, f"a failed service still ready {sent:.2f} s later"
                time.sleep(0.05)
            assert ready.status_code == 503
            assert ready.json()["failing"] == ["transcriber", "analyzer", "renderer"], ready.text
        finally:
            server.should_exit = True
            thread.join(15)
            grpc_server.stop(0)
