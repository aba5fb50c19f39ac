"""Run Alembic migrations programmatically (a step before start, never inside app start-up)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from aiat_gateway.db.connection import make_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# pg_advisory_lock key of the schema migration: every gateway and worker pod's init container takes
# it, so concurrent `aiat-gateway migrate` runs go one after the other (the later ones find head).
MIGRATION_LOCK_KEY = 0x41494154_4D494752  # "AIATMIGR"

log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    """Alembic config pointing at the packaged migrations and the given database URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema at `url` up to `revision`; on PostgreSQL under an advisory lock."""
    if make_url(url).get_backend_name() != "postgresql":
        command.upgrade(alembic_config(url), revision)  # SQLite: one local process migrates
        return
    engine = make_engine(url)
    try:
        # The lock lives on its own autocommit connection (no transaction left idle while Alembic
        # runs on another); it is released explicitly, or by the server if this process dies.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
            got = lock.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY}).scalar()
            if not got:
                log.info("another migration is running; waiting for it")
                lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            try:
                command.upgrade(alembic_config(url), revision)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()
