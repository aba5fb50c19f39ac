"""Load shedding: beyond capacity the gateway answers 503 + Retry-After at once, drops work for clients that
have gone, keeps /healthz instant, and is usable again within seconds of the burst ending.

The burst runs against a real `aiat-gateway serve` process; the admission rules themselves against a real
uvicorn server with a handler the test holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.api.admission import Admission
from aiat_gateway.db.migrate import upgrade
from tests.gateway import seed

SESSIONS = 150
BURST_CLIENTS = 300
BURST_SECONDS = 6.0
CLIENT_TIMEOUT = 1.0


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[str]:
    """`aiat-gateway serve` on SQLite with SESSIONS sessions, as `make run` starts it; its base URL."""
    url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
    upgrade(url)
    port = free_port()
    closed = f"127.0.0.1:{free_port()}"
    with NatsServer(tmp_path / "nats") as nats:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIAT_")}
        env |= {
            "AIAT_DATA_DIR": str(tmp_path / "data"),
            "AIAT_DATABASE_URL": url,
            "AIAT_NATS_URL": nats.url,
            "AIAT_HTTP_PORT": str(port),
            "AIAT_TRANSCRIBER_ADDR": closed,
            "AIAT_ANALYZER_ADDR": closed,
            "AIAT_RENDERER_ADDR": closed,
            "AIAT_RATE_LIMIT": "",
            "AIAT_LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen([sys.executable, "-m", "aiat_gateway.main", "serve"], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, "the gateway exited during start-up"
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the gateway did not start in 30 s"
                time.sleep(0.1)
            with httpx.Client(base_url=base, timeout=10) as client:
                for n in range(SESSIONS):
                    link = seed.LINK.format(seed.file_id(n))
                    created = client.post(
                        "/api/v1/upload-session", json={"name": f"L{n}", "drive_link": link}
                    )
                    assert created.status_code == 200, created.text
            yield base
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 GET on a kept-alive connection (a raw client: httpx is too slow to overload the server)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: load\r\n\r\n".encode())
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(head[0].split()[1]), headers, body


async def _burst(base: str) -> dict[str, int]:
    """BURST_CLIENTS clients reading lists and statuses back to back; each gives up after CLIENT_TIMEOUT."""
    host, port = base.removeprefix("http://").split(":")
    seen: dict[str, int] = {}
    stop = time.monotonic() + BURST_SECONDS

    def count(what: str) -> None:
        seen[what] = seen.get(what, 0) + 1

    async def client(n: int) -> None:
        path = "/api/v1/sessions?limit=100" if n % 2 else f"/api/v1/jobs/{1 + n % SESSIONS}/status"
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while time.monotonic() < stop:
            try:
                if conn is None:
                    conn = await asyncio.wait_for(asyncio.open_connection(host, int(port)), CLIENT_TIMEOUT)
                status, headers, body = await asyncio.wait_for(_get(*conn, path), CLIENT_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                count(type(exc).__name__)  # the client gives up and goes, as the people in the report did
                if conn is not None:
                    conn[1].close()
                conn = None
                continue
            count(str(status))
            if status == 503 and not (headers.get("retry-after", "").isdigit() and b'"detail"' in body):
                count("503 without Retry-After or JSON detail")
        if conn is not None:
            conn[1].close()

    await asyncio.gather(*(client(n) for n in range(BURST_CLIENTS)))
    return seen


def run_burst(base: str) -> dict[str, int]:
    """The burst, in a process of its own so the probes in the test process measure the server, not it."""
    return asyncio.run(_burst(base))


def test_a_burst_past_capacity_is_shed_and_the_gateway_recovers_at_once(gateway_process: str) -> None:
    base = gateway_process
    probes: list[tuple[int, float, str]] = []
    health: list[float] = []
    with (
        multiprocessing.get_context("spawn").Pool(1) as pool,
        httpx.Client(base_url=base, timeout=10) as prober,
    ):
        burst = pool.apply_async(run_burst, (base,))
        time.sleep(1.0)  # past capacity by now
        while not burst.ready():
            started = time.monotonic()
            response = prober.get("/api/v1/jobs/1/status")
            retry_after = response.headers.get("retry-after", "") if response.status_code == 503 else "-"
            probes.append((response.status_code, time.monotonic() - started, retry_after))
            started = time.monotonic()
            assert prober.get("/healthz").status_code == 200
            health.append(time.monotonic() - started)
            time.sleep(0.2)
        seen = burst.get(timeout=30)
    ended = time.monotonic()

    recovered_after = None
    with httpx.Client(base_url=base, timeout=2) as client:
        while recovered_after is None and time.monotonic() - ended < 10:
            started = time.monotonic()
            with contextlib.suppress(httpx.TimeoutException):
                response = client.get("/api/v1/sessions?limit=100")
                if response.status_code == 200 and time.monotonic() - started < 1.0:
                    recovered_after = time.monotonic() - ended
            time.sleep(0.1)
    summary = f"burst saw {seen}; probes {probes}; recovered after {recovered_after}"
    assert recovered_after is not None, f"no normal answer within 10 s of the burst: {summary}"
    assert seen.get("503", 0) > 0, f"the burst never went past capacity: {summary}"
    assert set(seen) <= {"200", "503", "TimeoutError"}, summary
    # Never a hang: a request during the burst is answered or shed (with Retry-After) within seconds.
    assert probes and all(status in (200, 503) and took < 3.0 for status, took, _ in probes), summary
    assert all(retry.isdigit() for status, _, retry in probes if status == 503), summary
    assert max(health) < 1.0, f"/healthz waited during the burst: {health}"


class HeldApp:
    """A Starlette app behind Admission whose /work requests wait until the test releases them."""

    def __init__(self, limit: int, queue: int, wait: float) -> None:
        self.ran = 0
        self.release = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

        async def work(_request: Request) -> JSONResponse:
            self.ran += 1
            await self.release.wait()
            return JSONResponse({"ok": True})

        async def healthz(_request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        inner = Starlette(routes=[Route("/work", work), Route("/healthz", healthz)])
        self.admission = Admission(inner, limit=limit, queue=queue, wait=wait, exempt=("/healthz",))

    def open(self) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.release.set)


@pytest.fixture
def held() -> Iterator[tuple[HeldApp, str]]:
    """One slot, two places in the queue, a 3 s queue wait, on a real uvicorn server."""
    app = HeldApp(limit=1, queue=2, wait=3.0)
    server = uvicorn.Server(
        uvicorn.Config(app.admission, host="127.0.0.1", port=free_port(), log_level="warning")
    )

    def run() -> None:
        app.loop = asyncio.new_event_loop()
        app.loop.run_until_complete(server.serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield app, f"http://127.0.0.1:{server.config.port}"
    app.open()
    server.should_exit = True
    thread.join(10)


def send_and_leave(base: str) -> None:
    """A client that sends GET /work and goes away without waiting for the answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /work HTTP/1.1\r\nHost: test\r\n\r\n")
        time.sleep(0.2)


def wait_for(what: str, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.02)


def test_a_queued_request_whose_client_left_never_runs(held: tuple[HeldApp, str]) -> None:
    app, base = held
    first = threading.Thread(target=lambda: httpx.get(f"{base}/work", timeout=10), daemon=True)
    first.start()
    wait_for("the only slot taken", lambda: app.ran == 1)
    send_and_leave(base)
    wait_for("the queued request whose client left dropped", lambda: app.admission.dropped == 1)
    app.open()
    first.join(5)
    assert httpx.get(f"{base}/work", timeout=5).status_code == 200
    assert app.ran == 2  # the first request and the last one: the one whose client left never ran


def test_full_queue_and_expired_wait_are_shed_with_retry_after(held: tuple[HeldApp, str]) -> None:
    app, base = held
    pending = [threading.Thread(target=lambda: httpx.get(f"{base}/work", timeout=10), daemon=True)]
    pending[0].start()
    wait_for("the only slot taken", lambda: app.ran == 1)
    results: list[tuple[int, float]] = []

    def queued() -> None:
        started = time.monotonic()
        response = httpx.get(f"{base}/work", timeout=10)
        results.append((response.status_code, time.monotonic() - started))

    pending += [threading.Thread(target=queued, daemon=True) for _ in range(2)]
    for t in pending[1:]:
        t.start()
    wait_for("two requests queued", lambda: app.admission.waiting == 2)

    started = time.monotonic()
    full = httpx.get(f"{base}/work", timeout=10)
    assert full.status_code == 503 and time.monotonic() - started < 0.5  # at once, not after the wait
    assert full.headers["retry-after"] == "1" and "capacity" in full.json()["detail"]
    health = httpx.get(f"{base}/healthz", timeout=1)
    assert health.status_code == 200  # the probe skips the queue

    for t in pending[1:]:
        t.join(10)
    assert [status for status, _ in results] == [503, 503]
    assert all(2.5 < took < 4.5 for _, took in results), results  # shed when the 3 s wait ran out
    assert app.ran == 1
