"""Alembic environment: runs against the URL the caller put in the config (see db/migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from aiat_gateway.db.connection import make_engine
from aiat_gateway.db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Batch mode rebuilds a table by copy, drop and rename: with foreign keys on, dropping `sessions`
            # would cascade and delete every snippet and render task. The pragma only applies outside a
            # transaction, so it is set before Alembic opens its own.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        _run(conn)
    engine.dispose()
