"""The database connection: a SQLAlchemy engine (SQLite in WAL mode, or PostgreSQL) and a session factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, connect_timeout: float = 5.0, pool_timeout: float = 5.0) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    PostgreSQL connections are pinged on checkout (a restarted server's dead ones are replaced) and
    opening one gives up after `connect_timeout`; waiting for a pooled one after `pool_timeout`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_timeout=pool_timeout
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=pool_timeout,
        connect_args={"connect_timeout": max(1, round(connect_timeout))},  # libpq takes whole seconds
    )


def is_unavailable(exc: BaseException) -> bool:
    """True for the database being unreachable or overloaded (worth retrying later), not for a bad query."""
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.OperationalError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


# SQLSTATEs of a server going away: connection exceptions (class 08), admin/crash shutdown, starting up.
DOWN_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_outage(exc: BaseException) -> bool:
    """True only for the connection itself being down (refused, reset, invalidated, none in the pool).

    A disk-full or read-only database, a missing column, a deadlock or a statement timeout is an
    OperationalError too, but one the database answers: rerunning at once would only fail again.
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return True  # no pooled connection came free
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa_exc.OperationalError):
        return False
    orig = exc.orig
    if type(orig).__module__.startswith("psycopg"):
        # libpq's own failures (refused, reset, timed out at connect) carry no SQLSTATE from a server.
        state = getattr(orig, "sqlstate", None)
        return state is None or state.startswith(DOWN_SQLSTATES)
    return "unable to open database file" in str(orig)  # SQLite: the file or its directory is gone


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
