"""Live events (core NATS, best effort): one SessionEvent or TaskEvent per applied transition."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from nats.aio.client import Client

from aiat.jobs.v1 import jobs_pb2
from aiat_gateway.nats_client import EVENTS_PREFIX


@dataclass(frozen=True)
class Event:
    """An event and the subject it goes out on."""

    subject: str
    message: jobs_pb2.SessionEvent | jobs_pb2.TaskEvent


def session_event(session_id: int, status: str, progress: float | None, error: str | None) -> Event:
    """A session's state, on `aiat.events.session.<id>`."""
    message = jobs_pb2.SessionEvent(
        session_id=session_id, job_status=status, progress=progress or 0.0, error=error or ""
    )
    return Event(f"{EVENTS_PREFIX}.session.{session_id}", message)


def task_event(
    task_id: str,
    snippet_id: int | None,
    status: str,
    progress: float | None,
    result: str | None,
    error: str | None,
) -> Event:
    """A render task's state, on `aiat.events.task.<task_id>`."""
    message = jobs_pb2.TaskEvent(
        task_id=task_id,
        snippet_id=snippet_id or 0,
        status=status,
        progress=progress or 0.0,
        result=result or "",
        error=error or "",
    )
    return Event(f"{EVENTS_PREFIX}.task.{task_id}", message)


async def publish(nc: Client | None, event: Event | None) -> None:
    """Publish after the commit, best effort: live progress is a convenience, the DB is the truth."""
    if event is not None and nc is not None and nc.is_connected:
        with contextlib.suppress(Exception):
            await nc.publish(event.subject, event.message.SerializeToString())
