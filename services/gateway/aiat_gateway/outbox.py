"""Transactional outbox: jobs are rows committed with the request, then published to JetStream."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from aiat_gateway.db.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)


def enqueue(db: Session, subject: str, msg_id: str, payload: bytes) -> OutboxMessage:
    """Add a job to the outbox inside the caller's transaction."""
    row = OutboxMessage(subject=subject, msg_id=msg_id, payload=payload)
    db.add(row)
    return row


def _pending(factory: sessionmaker[Session], limit: int, ids: list[int] | None) -> list[OutboxMessage]:
    with factory() as db:
        query = select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        return list(db.scalars(query.order_by(OutboxMessage.id).limit(limit)))


def _mark(factory: sessionmaker[Session], row_id: int, published: bool) -> None:
    with factory.begin() as db:
        row = db.get(OutboxMessage, row_id)
        if row is None:
            return
        row.publish_attempts += 1
        if published:
            row.published_at = utcnow()


def prune(factory: sessionmaker[Session], older_than: dt.timedelta) -> int:
    """Delete outbox rows published longer ago than `older_than` (past any dedupe window)."""
    with factory.begin() as db:
        result = db.execute(delete(OutboxMessage).where(OutboxMessage.published_at < utcnow() - older_than))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def flush(
    factory: sessionmaker[Session],
    js: JetStreamContext | None,
    *,
    ids: list[int] | None = None,
    limit: int = 100,
    timeout: float = 2.0,
    ensure_stream: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Publish unpublished outbox rows (all, or just `ids`) with Nats-Msg-Id; returns how many went out.

    When NATS answers that no stream takes the subject (it restarted with an empty store), `ensure_stream`
    creates the stream again and the row is published once more.
    """
    if js is None:
        return 0
    rows = await asyncio.to_thread(_pending, factory, limit, ids)
    sent = 0
    for row in rows:
        headers = {"Nats-Msg-Id": row.msg_id}
        try:
            try:
                await js.publish(row.subject, row.payload, timeout=timeout, headers=headers)
            except NoStreamResponseError:
                if ensure_stream is None:
                    raise
                log.warning("no stream takes %s (NATS lost its store?); creating it again", row.subject)
                await ensure_stream()
                await js.publish(row.subject, row.payload, timeout=timeout, headers=headers)
        except Exception as exc:  # NATS down or slow: the reconciler will publish it later
            log.warning("publishing job %s on %s failed (%s); will retry", row.msg_id, row.subject, exc)
            await asyncio.to_thread(_mark, factory, row.id, False)
            break
        await asyncio.to_thread(_mark, factory, row.id, True)
        sent += 1
    return sent
