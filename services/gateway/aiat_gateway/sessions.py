"""Session and plan logic shared by the API and the worker (plain functions over a DB session)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import asc, delete, desc, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aiat.jobs.v1 import jobs_pb2
from aiat_gateway import outbox
from aiat_gateway.db.models import LectureSession, Snippet, Status
from aiat_gateway.errors import Conflict, Duplicate, Invalid, NotFound
from aiat_gateway.nats_client import SESSION_SUBJECT

SORTABLE = ("id", "name", "module", "job_status", "created_at", "updated_at")


@dataclass(frozen=True)
class PlanItem:
    """One snippet of a plan, from the analyzer or a person."""

    name: str
    start: float
    end: float
    summary: str = ""
    score: float | None = None
    reason: str | None = None


def create_session(
    db: Session, name: str, module: str | None, link: str, file_id: str
) -> tuple[LectureSession, int]:
    """Insert a Pending session and its job in one transaction; returns it and the outbox row id."""
    existing = db.scalar(
        select(LectureSession.id).where(
            (LectureSession.drive_link == link) | (LectureSession.drive_file_id == file_id)
        )
    )
    if existing is not None:
        raise Duplicate(f"a session for this drive link already exists (session {existing})")
    session = LectureSession(name=name, module=module, drive_link=link, drive_file_id=file_id, job_id="")
    db.add(session)
    try:
        db.flush()
        row = _enqueue_session_job(db, session)
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Duplicate("a session for this drive link already exists") from None
    return session, row


def _enqueue_session_job(db: Session, session: LectureSession) -> int:
    session.job_id = str(uuid.uuid4())
    job = jobs_pb2.SessionJob(session_id=session.id, job_id=session.job_id)
    row = outbox.enqueue(db, SESSION_SUBJECT, f"session-{session.job_id}", job.SerializeToString())
    db.flush()
    return row.id


def retry_session(db: Session, session_id: int) -> tuple[LectureSession, int]:
    """Start a Failed session again from its first missing step; returns it and the outbox row id."""
    session = get_session(db, session_id, lock=True)
    if session.job_status != Status.FAILED:
        raise Conflict(
            f"session {session_id} is {session.job_status!r}; only a Failed session can be retried"
        )
    session.job_status, session.error_message, session.progress = Status.PENDING, None, None
    session.attempts, session.finished_at = 0, None
    row = _enqueue_session_job(db, session)
    db.commit()
    return session, row


def redrive_session(db: Session, session_id: int, expected_job_id: str) -> int | None:
    """Give a stalled session a fresh job id and job (only if nobody else did); returns the outbox row id."""
    session = db.get(LectureSession, session_id, with_for_update=True)
    if session is None or session.job_id != expected_job_id or session.job_status in Status.TERMINAL:
        return None
    row = _enqueue_session_job(db, session)
    db.commit()
    return row


def list_sessions(db: Session, skip: int, limit: int, sort_by: str, order: str) -> Sequence[LectureSession]:
    """A page of sessions, sorted by a real column (id breaks ties)."""
    if sort_by not in SORTABLE:
        raise Invalid(f"sort_by must be one of {', '.join(SORTABLE)}")
    direction = asc if order == "asc" else desc
    query = (
        select(LectureSession)
        .order_by(direction(getattr(LectureSession, sort_by)), direction(LectureSession.id))
        .offset(skip)
        .limit(limit)
    )
    return db.scalars(query).all()


def snippet_counts(db: Session, session_ids: Sequence[int]) -> dict[int, int]:
    """Number of snippets per session."""
    if not session_ids:
        return {}
    rows = db.execute(
        select(Snippet.session_id, func.count(Snippet.id))
        .where(Snippet.session_id.in_(session_ids))
        .group_by(Snippet.session_id)
    )
    return {sid: int(n) for sid, n in rows}


def get_session(db: Session, session_id: int, lock: bool = False) -> LectureSession:
    """The session (row-locked on PostgreSQL when `lock`), or NotFound."""
    session = db.get(LectureSession, session_id, with_for_update=lock)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    return session


def validate_plan(items: Sequence[PlanItem], duration: float | None, max_count: int) -> None:
    """Check a person's plan: names, 0 <= start < end <= duration, bounded count."""
    if len(items) > max_count:
        raise Invalid(f"a plan may hold at most {max_count} snippets, got {len(items)}")
    for i, item in enumerate(items, 1):
        if not item.name.strip():
            raise Invalid(f"snippet {i}: name must not be empty")
        if not (math.isfinite(item.start) and math.isfinite(item.end)):
            raise Invalid(f"snippet {i}: start and end must be finite numbers")
        if item.start < 0 or item.start >= item.end:
            raise Invalid(f"snippet {i}: need 0 <= start < end, got start={item.start} end={item.end}")
        if duration is not None and item.end > duration + 1e-6:
            raise Invalid(f"snippet {i}: end {item.end} is past the end of the media ({duration:.3f} s)")


def replace_plan(db: Session, session: LectureSession, items: Sequence[PlanItem], origin: str) -> list[str]:
    """Replace the session's snippets in the caller's transaction; returns old rendered files to delete."""
    # One DELETE statement (not the ORM collection): it takes the write lock first, so of two
    # concurrent replacements the later one also removes what the earlier one inserted.
    deleted = db.execute(
        delete(Snippet).where(Snippet.session_id == session.id).returning(Snippet.storage_link)
    )
    old_files = [link for (link,) in deleted if link]
    db.expire(session, ["snippets"])
    for position, item in enumerate(items, 1):
        session.snippets.append(
            Snippet(
                position=position,
                name=item.name.strip(),
                summary=item.summary.strip(),
                start=float(item.start),
                end=float(item.end),
                start_second=int(math.floor(item.start)),
                end_second=int(math.ceil(item.end)),
                score=item.score,
                reason=item.reason,
                origin=origin,
            )
        )
    db.flush()
    return old_files


def update_plan(
    db: Session, session_id: int, items: Sequence[PlanItem], max_count: int
) -> tuple[LectureSession, list[str]]:
    """PATCH /plan: validate and atomically replace a settled session's plan."""
    # Row lock on PostgreSQL: concurrent PATCHes of one session apply one after the other.
    session = get_session(db, session_id, lock=True)
    if session.job_status not in Status.TERMINAL:
        raise Conflict(
            f"session {session_id} is still {session.job_status!r}; edit the plan once it has finished"
        )
    validate_plan(items, session.media_duration, max_count)
    old_files = replace_plan(db, session, items, origin="manual")
    db.commit()
    db.refresh(session)
    return session, old_files
