"""Keeps jobs moving: publishes the outbox and re-drives sessions and tasks whose worker went away."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aiat_gateway import outbox
from aiat_gateway.db.models import LectureSession, RenderTask, Status, TaskStatus, utcnow
from aiat_gateway.nats_client import NatsClient
from aiat_gateway.sessions import redrive_session
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.tasks import enqueue_render_job

log = logging.getLogger(__name__)


def sweep_stale(factory: sessionmaker[Session], settings: GatewaySettings) -> list[int]:
    """Fail or re-drive sessions and tasks with no sign of life; returns new outbox row ids."""
    # Work in progress heartbeats, so it is stale after job_stale_seconds of silence. A job still
    # queued has no heartbeat: only after job_pending_stale_seconds is its message presumed lost.
    cutoff = utcnow() - dt.timedelta(seconds=settings.job_stale_seconds)
    queued_cutoff = utcnow() - dt.timedelta(seconds=settings.job_pending_stale_seconds)
    rows: list[int] = []
    with factory() as db:
        stale_sessions = db.execute(
            select(LectureSession.id, LectureSession.job_id, LectureSession.attempts).where(
                (
                    LectureSession.job_status.not_in([*Status.TERMINAL, Status.PENDING])
                    & (LectureSession.updated_at < cutoff)
                )
                | (
                    (LectureSession.job_status == Status.PENDING)
                    & (LectureSession.updated_at < queued_cutoff)
                )
            )
        ).all()
        stale_tasks = db.scalars(
            select(RenderTask.task_id).where(
                ((RenderTask.status == TaskStatus.STARTED) & (RenderTask.updated_at < cutoff))
                | ((RenderTask.status == TaskStatus.PENDING) & (RenderTask.updated_at < queued_cutoff))
            )
        ).all()
    for session_id, job_id, attempts in stale_sessions:
        with factory() as db:
            if attempts >= settings.job_max_deliver:
                s = db.get(LectureSession, session_id)
                if s is not None and s.job_id == job_id and s.job_status not in Status.TERMINAL:
                    s.job_status, s.finished_at = Status.FAILED, utcnow()
                    s.error_message = f"processing stopped responding after {attempts} attempts"
                    db.commit()
                    log.warning("session %s: %s", session_id, s.error_message)
                continue
            row = redrive_session(db, session_id, job_id)
            if row is not None:
                log.warning(
                    "session %s: no progress for %.0fs; re-driving", session_id, settings.job_stale_seconds
                )
                rows.append(row)
    for task_id in stale_tasks:
        with factory.begin() as db:
            task = db.get(RenderTask, task_id, with_for_update=True)
            if task is None or task.status in TaskStatus.TERMINAL:
                continue
            if task.updated_at >= (cutoff if task.status == TaskStatus.STARTED else queued_cutoff):
                continue
            if task.attempts >= settings.job_max_deliver:
                task.status, task.finished_at = TaskStatus.FAILURE, utcnow()
                task.error = task.result = f"rendering stopped responding after {task.attempts} attempts"
                continue
            task.status, task.updated_at = TaskStatus.PENDING, utcnow()
            rows.append(enqueue_render_job(db, task))
            log.warning("render task %s: no progress; re-driving", task_id)
    return rows


class Reconciler:
    """Runs the outbox flush and the stale sweep every `interval` seconds."""

    def __init__(self, factory: sessionmaker[Session], nats: NatsClient, settings: GatewaySettings) -> None:
        self.factory = factory
        self.nats = nats
        self.settings = settings

    async def tick(self) -> None:
        """One pass: sweep, then publish everything unpublished."""
        await asyncio.to_thread(sweep_stale, self.factory, self.settings)
        await asyncio.to_thread(outbox.prune, self.factory, dt.timedelta(days=1))
        if self.nats.connected:
            await outbox.flush(self.factory, self.nats.js)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until stopped; errors are logged, never fatal."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("reconciler pass failed")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.reconcile_interval_seconds)
            except TimeoutError:
                pass
