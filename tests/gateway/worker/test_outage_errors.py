"""Only a database that is really down is an outage; other OperationalErrors fail the step, with backoff.

Real SQLite and PostgreSQL errors, and a real JobConsumer on a real NATS server.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
from pathlib import Path

import nats
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from aiat.jobs.v1 import jobs_pb2
from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.db.connection import is_outage, make_engine
from aiat_gateway.nats_client import ensure_stream
from aiat_gateway.worker.consumer import ConsumerSpec, JobConsumer, Outage


def _error(url: str, *statements: str) -> SQLAlchemyError:
    engine = make_engine(url, connect_timeout=1, pool_timeout=1)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
            conn.commit()
    except SQLAlchemyError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{statements} did not fail")


def test_sqlite_errors_that_are_not_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "aiat.db"
    url = f"sqlite:///{path.as_posix()}"
    assert not is_outage(_error(url, "CREATE TABLE t (a INT)", "SELECT nope FROM t"))  # no such column
    os.chmod(path, 0o444)
    readonly = create_engine(f"sqlite:///file:{path.as_posix()}?mode=ro&uri=true")
    try:
        with readonly.connect() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
    except SQLAlchemyError as exc:
        assert "readonly" in str(exc) and not is_outage(exc)
    else:
        raise AssertionError("a read-only database took a write")
    # The file's directory gone: nothing to connect to.
    missing = create_engine(f"sqlite:///{(tmp_path / 'gone' / 'x.db').as_posix()}")
    try:
        with missing.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        assert is_outage(exc)
    else:
        raise AssertionError("a database in a missing directory opened")


def test_postgres_errors_that_are_not_an_outage_and_those_that_are(postgres_server_url: str) -> None:
    url = postgres_server_url.replace("postgresql://", "postgresql+psycopg://", 1)
    timeout = _error(url, "SET statement_timeout = 50", "SELECT pg_sleep(2)")
    assert "statement timeout" in str(timeout) and not is_outage(timeout)
    assert not is_outage(_error(url, "SELECT nope FROM pg_class"))
    assert not is_outage(_error(url, "SELECT 1/0"))
    refused = _error(f"postgresql+psycopg://u@127.0.0.1:{free_port()}/x", "SELECT 1")
    assert is_outage(refused)
    # The server ends this very connection (as a restart does): invalidated, an outage.
    killed = _error(url, "SELECT pg_terminate_backend(pg_backend_pid())", "SELECT 1")
    assert is_outage(killed)


def test_a_non_outage_error_is_retried_with_backoff_then_given_up(tmp_path: Path) -> None:
    """A real 'no such column' OperationalError while SELECT 1 works: bounded attempts, never a hot loop."""
    url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
    calls: list[int] = []
    given_up: list[str] = []

    async def handle(_job: jobs_pb2.SessionJob, attempt: int) -> None:
        calls.append(attempt)
        await asyncio.sleep(0)  # a hot loop must not starve the test's own loop
        raise _error(url, "CREATE TABLE IF NOT EXISTS t (a INT)", "SELECT nope FROM t")

    async def give_up(_job: jobs_pb2.SessionJob, reason: str) -> None:
        given_up.append(reason)

    async def touch(_job: jobs_pb2.SessionJob) -> None:
        return None

    async def database_up() -> bool:
        return True  # SELECT 1 answers: the database is up

    async def scenario(server: NatsServer) -> None:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_stream(js, "AIAT_JOBS", 60.0)
        spec = ConsumerSpec("sessions", "aiat.jobs.session", jobs_pb2.SessionJob, handle, give_up, touch)
        consumer = JobConsumer(
            js, "AIAT_JOBS", spec, concurrency=1, ack_wait=10, max_deliver=3,
            backoff_base=0.2, backoff_cap=0.5, grace=1, outage=Outage(is_outage, database_up),
        )  # fmt: skip
        stop = asyncio.Event()
        running = asyncio.create_task(consumer.run(stop))
        await js.publish(
            "aiat.jobs.session", jobs_pb2.SessionJob(session_id=1, job_id="j").SerializeToString()
        )
        for _ in range(100):
            if given_up or len(calls) > 20:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await running
        await nc.close()

    with NatsServer(tmp_path / "nats") as server:
        asyncio.run(scenario(server))
    assert calls == [1, 2, 3], f"{len(calls)} runs"
    assert len(given_up) == 1 and "no such column" in given_up[0]


def test_outage_reruns_wait_and_are_capped(tmp_path: Path) -> None:
    """Even an error taken for an outage reruns after a growing delay, and a bounded number of times."""
    runs: list[float] = []
    given_up: list[str] = []

    async def handle(_job: jobs_pb2.SessionJob, _attempt: int) -> None:
        runs.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0)
        raise sqlite3.OperationalError("still failing")

    async def give_up(_job: jobs_pb2.SessionJob, reason: str) -> None:
        given_up.append(reason)

    async def touch(_job: jobs_pb2.SessionJob) -> None:
        return None

    async def database_up() -> bool:
        return True

    async def scenario(server: NatsServer) -> None:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_stream(js, "AIAT_JOBS", 60.0)
        spec = ConsumerSpec("sessions", "aiat.jobs.session", jobs_pb2.SessionJob, handle, give_up, touch)
        consumer = JobConsumer(
            js, "AIAT_JOBS", spec, concurrency=1, ack_wait=10, max_deliver=1,
            backoff_base=0.2, backoff_cap=0.5, grace=1, outage=Outage(lambda _exc: True, database_up),
        )  # fmt: skip
        consumer.outage_rerun_delay, consumer.max_outage_reruns = 0.1, 3
        stop = asyncio.Event()
        running = asyncio.create_task(consumer.run(stop))
        await js.publish(
            "aiat.jobs.session", jobs_pb2.SessionJob(session_id=1, job_id="j").SerializeToString()
        )
        for _ in range(50):
            if given_up or len(runs) > 20:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await running
        await nc.close()

    with NatsServer(tmp_path / "nats") as server:
        asyncio.run(scenario(server))
    assert len(runs) == 4, f"{len(runs)} runs"  # the first and three reruns
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4, gaps
    assert len(given_up) == 1
