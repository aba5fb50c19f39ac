"""DB writes the worker makes, run off the event loop, plus best-effort live events on NATS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from nats.aio.client import Client
from sqlalchemy.orm import Session, sessionmaker

from aiat.jobs.v1 import jobs_pb2
from aiat_gateway.db.models import LectureSession, RenderTask, utcnow
from aiat_gateway.nats_client import EVENTS_PREFIX

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", LectureSession, RenderTask)


class WorkerDb:
    """Short transactions for the worker; every call runs in a thread."""

    def __init__(self, factory: sessionmaker[Session], nc: Client | None = None) -> None:
        self.factory = factory
        self.nc = nc

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run fn(db) in its own transaction, committed on success."""

        def _txn() -> T:
            with self.factory.begin() as db:
                return fn(db)

        return await asyncio.to_thread(_txn)

    async def _set(self, model: type[M], key: object, fields: dict[str, Any]) -> M | None:
        """Set fields (and updated_at) on one row; None when it no longer exists."""

        def _update(db: Session) -> M | None:
            row = db.get(model, key)
            if row is None:
                return None
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            return row

        return await self.run(_update)

    async def update_session(self, session_id: int, **fields: Any) -> None:
        """Set fields on a session (and publish a SessionEvent when its status or error changes)."""
        session = await self._set(LectureSession, session_id, fields)
        if session is not None and ("job_status" in fields or "error_message" in fields):
            event = jobs_pb2.SessionEvent(
                session_id=session_id,
                job_status=session.job_status,
                progress=session.progress or 0.0,
                error=session.error_message or "",
            )
            await self.publish_event(f"{EVENTS_PREFIX}.session.{session_id}", event.SerializeToString())

    async def update_task(self, task_id: str, **fields: Any) -> None:
        """Set fields on a render task (and publish a TaskEvent when its status changes)."""
        task = await self._set(RenderTask, task_id, fields)
        if task is not None and "status" in fields:
            event = jobs_pb2.TaskEvent(
                task_id=task_id,
                snippet_id=task.snippet_id or 0,
                status=task.status,
                progress=task.progress or 0.0,
                result=task.result or "",
                error=task.error or "",
            )
            await self.publish_event(f"{EVENTS_PREFIX}.task.{task_id}", event.SerializeToString())

    async def publish_event(self, subject: str, payload: bytes) -> None:
        """Core NATS publish, best effort: live progress is a convenience, the DB is the truth."""
        if self.nc is not None and self.nc.is_connected:
            with contextlib.suppress(Exception):
                await self.nc.publish(subject, payload)
