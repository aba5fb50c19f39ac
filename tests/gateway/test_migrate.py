"""`aiat-gateway migrate` run by several init containers at once: serialised, then a no-op."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from aiat_gateway.db.migrate import MIGRATION_LOCK_KEY, alembic_config


@pytest.fixture
def empty_postgres_db(postgres_server_url: str) -> Iterator[tuple[str, str]]:
    """(server-level psycopg URL of a new empty database, its SQLAlchemy URL)."""
    name = f"aiat_migrate_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server_url).set(database=name)
    plain = url.render_as_string(hide_password=False)
    try:
        yield plain, url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str, tmp_path: Path) -> subprocess.Popen[str]:
    """`python -m aiat_gateway.main migrate` as its own process, as an init container runs it."""
    env = {**os.environ, "AIAT_DATABASE_URL": url, "AIAT_DATA_DIR": str(tmp_path), "AIAT_LOG_LEVEL": "INFO"}
    return subprocess.Popen(
        [sys.executable, "-m", "aiat_gateway.main", "migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def version(conn: psycopg.Connection[tuple[object, ...]]) -> object:
    row = conn.execute("SELECT to_regclass('alembic_version')").fetchone()
    if row is None or row[0] is None:
        return None
    found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if found is None else found[0]


def test_concurrent_migrations_wait_for_each_other_then_rerun_is_a_no_op(
    empty_postgres_db: tuple[str, str], tmp_path: Path
) -> None:
    plain, url = empty_postgres_db
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))  # as a migration in progress
        runs = [migrate(url, tmp_path), migrate(url, tmp_path)]
        time.sleep(3.0)
        assert [run.poll() for run in runs] == [None, None]  # both wait for the lock
        assert version(conn) is None  # and neither touched the schema
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        outputs = [run.communicate(timeout=120)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert version(conn) == head
        # Exactly one of them ran the migration steps; the other found the schema at head.
        assert sorted("Running upgrade" in out for out in outputs) == [False, True], outputs
        rerun = migrate(url, tmp_path)
        out = rerun.communicate(timeout=120)[0]
        assert rerun.returncode == 0 and "Running upgrade" not in out, out
        assert version(conn) == head
        held = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
        assert held == (0,)  # nothing left holding the lock
