"""Keeps jobs moving: publishes the outbox and re-drives sessions and tasks whose worker went away."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aiat_gateway import events, lifecycle, outbox
from aiat_gateway.db.connection import is_unavailable
from aiat_gateway.db.models import LectureSession, RenderTask, Status, TaskStatus, utcnow
from aiat_gateway.events import Event
from aiat_gateway.lifecycle import Transition
from aiat_gateway.nats_client import NatsClient
from aiat_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def sweep_stale(
    factory: sessionmaker[Session],
    settings: GatewaySettings,
    notify: Callable[[Event], object] | None = None,
) -> list[int]:
    """Fail or re-drive sessions and tasks with no sign of life; returns new outbox row ids.

    Each applied transition's event goes to `notify` (published by the caller once back on the loop).
    """
    # Work in progress heartbeats, so it is stale after job_stale_seconds of silence. A job still
    # queued has no heartbeat: only after job_pending_stale_seconds is its message presumed lost.
    cutoff = utcnow() - dt.timedelta(seconds=settings.job_stale_seconds)
    queued_cutoff = utcnow() - dt.timedelta(seconds=settings.job_pending_stale_seconds)
    with factory() as db:
        stale_sessions = db.execute(
            select(
                LectureSession.id, LectureSession.job_id, LectureSession.job_status, LectureSession.attempts
            ).where(
                (
                    LectureSession.job_status.in_(lifecycle.ACTIVE - {Status.PENDING})
                    & (LectureSession.updated_at < cutoff)
                )
                | (
                    (LectureSession.job_status == Status.PENDING)
                    & (LectureSession.updated_at < queued_cutoff)
                )
            )
        ).all()
        stale_tasks = db.execute(
            select(RenderTask.task_id, RenderTask.claim_id, RenderTask.status, RenderTask.attempts).where(
                ((RenderTask.status == TaskStatus.STARTED) & (RenderTask.updated_at < cutoff))
                | ((RenderTask.status == TaskStatus.PENDING) & (RenderTask.updated_at < queued_cutoff))
            )
        ).all()
    rows: list[int] = []

    def applied(transition: Transition) -> None:
        if transition.outbox_id is not None:
            rows.append(transition.outbox_id)
        if notify is not None and transition.event is not None:
            notify(transition.event)

    # Each transition re-checks, in its UPDATE, that the row is still idle and held by the job read
    # here: any write since (a heartbeat, a step, a re-drive) makes it a no-op.
    for session_id, job_id, status, attempts in stale_sessions:
        idle_before = queued_cutoff if status == Status.PENDING else cutoff
        with factory.begin() as db:
            if attempts >= settings.job_max_deliver:
                message = f"processing stopped responding after {attempts} attempts"
                transition = lifecycle.fail(db, session_id, job_id, message, idle_before, keep_progress=True)
                verb = f"failed: {message}"
            else:
                transition = lifecycle.redrive(db, session_id, job_id, idle_before)
                verb = f"no progress for {settings.job_stale_seconds:.0f}s; re-driving"
        if transition.applied:
            log.warning("session %s: %s", session_id, verb)
            applied(transition)
    for task_id, claim_id, status, attempts in stale_tasks:
        idle_before = queued_cutoff if status == TaskStatus.PENDING else cutoff
        with factory.begin() as db:
            if attempts >= settings.job_max_deliver:
                message = f"rendering stopped responding after {attempts} attempts"
                transition = lifecycle.fail_task(db, task_id, claim_id, message, idle_before)
                verb = f"failed: {message}"
            else:
                transition = lifecycle.redrive_task(db, task_id, claim_id, idle_before)
                verb = "no progress; re-driving"
        if transition.applied:
            log.warning("render task %s: %s", task_id, verb)
            applied(transition)
    return rows


class Reconciler:
    """Runs the outbox flush and the stale sweep every `interval` seconds."""

    def __init__(self, factory: sessionmaker[Session], nats: NatsClient, settings: GatewaySettings) -> None:
        self.factory = factory
        self.nats = nats
        self.settings = settings

    async def tick(self) -> None:
        """One pass: sweep (publishing its events), then publish every unpublished job."""
        found: list[Event] = []
        await asyncio.to_thread(sweep_stale, self.factory, self.settings, found.append)
        for event in found:
            await events.publish(self.nats.nc, event)
        await asyncio.to_thread(outbox.prune, self.factory, dt.timedelta(days=1))
        if self.nats.connected:
            await outbox.flush(self.factory, self.nats.js)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until stopped; errors are logged, never fatal."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:
                if is_unavailable(exc):  # one line per pass, not a traceback, while the database is down
                    log.warning("reconciler pass skipped: database unavailable (%s)", exc.__class__.__name__)
                else:
                    log.exception("reconciler pass failed")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.reconcile_interval_seconds)
            except TimeoutError:
                pass
