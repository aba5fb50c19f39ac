"""Render task logic of the API: read snippets and tasks, start a render (status changes: lifecycle)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aiat_gateway import lifecycle
from aiat_gateway.db.models import LectureSession, RenderTask, Snippet, Status, TaskStatus
from aiat_gateway.errors import Conflict, NotFound
from aiat_gateway.jobs import enqueue_render_job


def get_snippet(db: Session, snippet_id: int, lock: bool = False) -> Snippet:
    """The snippet (row-locked on PostgreSQL when `lock`), or NotFound."""
    snippet = db.get(Snippet, snippet_id, with_for_update=lock)
    if snippet is None:
        raise NotFound(f"snippet {snippet_id} not found")
    return snippet


def get_task(db: Session, task_id: str) -> RenderTask:
    """The render task, or NotFound."""
    task = db.get(RenderTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def start_render(db: Session, snippet_id: int, options: dict[str, Any]) -> tuple[RenderTask, int | None]:
    """Create (or return the running) render task of a snippet; returns it and its outbox row id if new."""
    # Row lock on PostgreSQL: two clicks on "process" make one task, not two.
    snippet = get_snippet(db, snippet_id, lock=True)
    session = db.get(LectureSession, snippet.session_id)
    if session is None or session.job_status != Status.FINISHED or not session.media_path:
        status = session.job_status if session else "missing"
        raise Conflict(f"session of snippet {snippet_id} is {status!r}; snippets render once it has finished")
    running = _running(db, snippet_id)
    if running is not None:
        return running, None
    task = RenderTask(
        task_id=str(uuid.uuid4()),
        snippet_id=snippet.id,
        session_id=snippet.session_id,
        status=TaskStatus.PENDING,
        options_json=json.dumps(options, sort_keys=True),
    )
    db.add(task)
    try:
        db.flush()
    except IntegrityError:
        # A parallel request inserted the snippet's active task first (SQLite has no row lock): use it.
        db.rollback()
        running = _running(db, snippet_id)
        if running is None:
            raise
        return running, None
    row = enqueue_render_job(db, task.task_id, task.snippet_id)
    db.commit()
    return task, row


def _running(db: Session, snippet_id: int) -> RenderTask | None:
    """The snippet's PENDING or STARTED task, if any."""
    return db.scalar(
        select(RenderTask).where(
            RenderTask.snippet_id == snippet_id, RenderTask.status.in_(lifecycle.TASK_ACTIVE)
        )
    )
