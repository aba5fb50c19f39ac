"""The transactional outbox: rows committed with the request, published once with Nats-Msg-Id, pruned later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from aiat.nats_server import NatsServer
from aiat_gateway import outbox
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.models import OutboxMessage, utcnow
from aiat_gateway.nats_client import NatsClient


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def add(factory: sessionmaker[Session], msg_id: str) -> int:
    with factory.begin() as db:
        row = outbox.enqueue(db, "aiat.jobs.session", msg_id, msg_id.encode())
        db.flush()
        return row.id


def row(factory: sessionmaker[Session], row_id: int) -> OutboxMessage:
    with factory() as db:
        found = db.get(OutboxMessage, row_id)
        assert found is not None
        return found


async def test_flush_publishes_each_row_once_with_its_message_id(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with NatsServer(tmp_path / "nats") as server:
        client = NatsClient(server.url, "AIAT_JOBS")
        await client.connect(wait=10)
        try:
            a, b = add(factory, "job-a"), add(factory, "job-b")
            assert await outbox.flush(factory, client.js, ids=[b]) == 1  # just the one asked for
            assert row(factory, a).published_at is None and row(factory, b).published_at is not None
            assert await outbox.flush(factory, client.js) == 1  # the rest
            assert await outbox.flush(factory, client.js) == 0  # nothing left
            assert row(factory, a).publish_attempts == 1
            assert client.js is not None
            # A second publish of the same id (a crash between publish and mark) is deduplicated.
            await client.js.publish("aiat.jobs.session", b"job-a", headers={"Nats-Msg-Id": "job-a"})
            assert (await client.js.stream_info("AIAT_JOBS")).state.messages == 2
        finally:
            await client.close()


async def test_flush_without_nats_keeps_the_rows(factory: sessionmaker[Session], tmp_path: Path) -> None:
    a = add(factory, "job-a")
    assert await outbox.flush(factory, None) == 0
    with NatsServer(tmp_path / "nats") as server:
        client = NatsClient(server.url, "AIAT_JOBS")
        await client.connect(wait=10)
        js = client.js
        await client.close()  # connection closed: the publish fails, the row stays for the reconciler
        assert await outbox.flush(factory, js, timeout=0.5) == 0
    assert row(factory, a).published_at is None and row(factory, a).publish_attempts == 1


def test_prune_deletes_only_rows_published_long_ago(factory: sessionmaker[Session]) -> None:
    old, recent, unpublished = add(factory, "old"), add(factory, "recent"), add(factory, "unpublished")
    with factory.begin() as db:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == old)
            .values(published_at=utcnow() - dt.timedelta(days=2))
        )
        db.execute(update(OutboxMessage).where(OutboxMessage.id == recent).values(published_at=utcnow()))
    assert outbox.prune(factory, dt.timedelta(days=1)) == 1
    with factory() as db:
        assert db.get(OutboxMessage, old) is None
        assert db.get(OutboxMessage, recent) is not None and db.get(OutboxMessage, unpublished) is not None
