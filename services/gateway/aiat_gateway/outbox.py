"""Transactional outbox: jobs are rows committed with the request, then published to JetStream."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from nats.js import JetStreamContext
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
) -> int:
    """Publish unpublished outbox rows (all, or just `ids`) with Nats-Msg-Id; returns how many went out."""
    if js is None:
        return 0
    rows = await asyncio.to_thread(_pending, factory, limit, ids)
    sent = 0
    for row in rows:
        try:
            await js.publish(row.subject, row.payload, timeout=timeout, headers={"Nats-Msg-Id": row.msg_id})
        except Exception as exc:  # NATS down or slow: the reconciler will publish it later
            log.warning("publishing job %s on %s failed (%s); will retry", row.msg_id, row.subject, exc)
            await asyncio.to_thread(_mark, factory, row.id, False)
            break
        await asyncio.to_thread(_mark, factory, row.id, True)
        sent += 1
    return sent
