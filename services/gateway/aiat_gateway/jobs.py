"""Job messages for JetStream, added to the outbox in the caller's transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from aiat.jobs.v1 import jobs_pb2
from aiat_gateway import outbox
from aiat_gateway.nats_client import RENDER_SUBJECT, SESSION_SUBJECT


def new_job_id() -> str:
    """A fresh id for a session's job (also its Nats-Msg-Id) or a render task's claim."""
    return str(uuid.uuid4())


def enqueue_session_job(db: Session, session_id: int, job_id: str) -> int:
    """Add a session's job to the outbox; returns the outbox row id."""
    job = jobs_pb2.SessionJob(session_id=session_id, job_id=job_id)
    row = outbox.enqueue(db, SESSION_SUBJECT, f"session-{job_id}", job.SerializeToString())
    db.flush()
    return row.id


def enqueue_render_job(db: Session, task_id: str, snippet_id: int | None) -> int:
    """Add a render task's job to the outbox under a fresh message id; returns the outbox row id."""
    job = jobs_pb2.RenderJob(task_id=task_id, snippet_id=snippet_id or 0)
    msg_id = f"render-{task_id}-{uuid.uuid4().hex[:12]}"
    row = outbox.enqueue(db, RENDER_SUBJECT, msg_id, job.SerializeToString())
    db.flush()
    return row.id
