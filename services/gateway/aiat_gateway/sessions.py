"""Session logic of the API: create, retry, list, read and re-plan (status changes go through lifecycle)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, asc, desc, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aiat_gateway import lifecycle
from aiat_gateway.db.models import LectureSession, Snippet, Status
from aiat_gateway.errors import Conflict, Duplicate, Invalid, NotFound
from aiat_gateway.jobs import enqueue_session_job, new_job_id
from aiat_gateway.lifecycle import Transition
from aiat_gateway.plans import PlanEntry, replace_plan, validate_plan

SORTABLE = ("id", "name", "module", "job_status", "created_at", "updated_at")


def create_session(
    db: Session,
    name: str,
    module: str | None,
    link: str,
    file_id: str,
    transcription: Mapping[str, object] | None = None,
) -> tuple[LectureSession, int]:
    """Insert a Pending session and its job in one transaction; returns it and the outbox row id."""
    existing = db.scalar(
        select(LectureSession.id).where(
            (LectureSession.drive_link == link) | (LectureSession.drive_file_id == file_id)
        )
    )
    if existing is not None:
        raise Duplicate(f"a session for this drive link already exists (session {existing})")
    session = LectureSession(
        name=name,
        module=module,
        drive_link=link,
        drive_file_id=file_id,
        job_status=Status.PENDING,
        job_id=new_job_id(),
    )
    set_transcription(session, transcription or {})
    db.add(session)
    try:
        db.flush()
        row = enqueue_session_job(db, session.id, session.job_id)
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Duplicate("a session for this drive link already exists") from None
    return session, row


def upload_link(sha256: str) -> str:
    """The `drive_link` shown for an uploaded file (no Drive link; unique per content like one)."""
    return f"upload:sha256:{sha256}"


def create_upload_session(
    db: Session,
    name: str,
    module: str | None,
    sha256: str,
    filename: str,
    place: Callable[[int], None],
    transcription: Mapping[str, object] | None = None,
) -> tuple[LectureSession, int]:
    """Insert a Pending session for an uploaded file; `place(id)` moves the file in before the job is queued."""
    existing = db.scalar(select(LectureSession.id).where(LectureSession.content_sha256 == sha256))
    if existing is not None:
        raise Duplicate(f"this file was already uploaded (session {existing})")
    link = upload_link(sha256)
    session = LectureSession(
        name=name,
        module=module,
        drive_link=link,
        drive_file_id=link,
        content_sha256=sha256,
        source_filename=filename,
        job_status=Status.PENDING,
        job_id=new_job_id(),
    )
    set_transcription(session, transcription or {})
    db.add(session)
    try:
        db.flush()
        place(session.id)
        row = enqueue_session_job(db, session.id, session.job_id)
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Duplicate("this file was already uploaded") from None
    return session, row


# API field -> session column of the transcription settings.
TRANSCRIPTION_COLUMNS = {
    "vocabulary": "vocabulary",
    "language": "requested_language",
    "model": "transcriber_model",
}


def set_transcription(session: LectureSession, fields: Mapping[str, object]) -> None:
    """Store the given transcription settings (None clears one back to the transcriber's default)."""
    for field, value in fields.items():
        setattr(session, TRANSCRIPTION_COLUMNS[field], value or None)


def update_transcription(db: Session, session_id: int, fields: Mapping[str, object]) -> LectureSession:
    """PATCH /sessions/{id}: change vocabulary, language or model; used by the next transcription."""
    session = get_session(db, session_id, lock=True)
    set_transcription(session, fields)
    db.commit()
    db.refresh(session)
    return session


def retranscribe_session(db: Session, session_id: int, keep_plan: bool) -> tuple[LectureSession, Transition]:
    """Transcribe a Finished session again with its current settings; returns it and the transition."""
    session = get_session(db, session_id, lock=True)
    transition = lifecycle.retranscribe(db, session.id, session.job_id, keep_plan)
    if not transition.applied:
        raise Conflict(
            f"session {session_id} is {session.job_status!r}; only a Finished session can be re-transcribed"
        )
    db.commit()
    db.refresh(session)
    return session, transition


def retry_session(db: Session, session_id: int) -> tuple[LectureSession, Transition]:
    """Start a Failed session again from its first missing step; returns it and the transition."""
    session = get_session(db, session_id, lock=True)
    transition = lifecycle.retry(db, session.id, session.job_id)
    if not transition.applied:
        raise Conflict(
            f"session {session_id} is {session.job_status!r}; only a Failed session can be retried"
        )
    db.commit()
    db.refresh(session)
    return session, transition


def session_page(
    db: Session, columns: Sequence[str], skip: int, limit: int, sort_by: str, order: str, q: str | None = None
) -> list[dict[str, object]]:
    """list_sessions as plain rows of `columns` plus `snippet_count`, in one query and without ORM objects."""
    count = (
        select(func.count(Snippet.id))
        .where(Snippet.session_id == LectureSession.id)
        .scalar_subquery()
        .label("snippet_count")
    )
    query = select(*(getattr(LectureSession, c) for c in columns), count)
    return [dict(row) for row in db.execute(_page(query, skip, limit, sort_by, order, q)).mappings()]


def _page(query: Select[Any], skip: int, limit: int, sort_by: str, order: str, q: str | None) -> Select[Any]:
    """The sessions page's filter, order and window applied to `query`."""
    if sort_by not in SORTABLE:
        raise Invalid(f"sort_by must be one of {', '.join(SORTABLE)}")
    direction = asc if order == "asc" else desc
    if q:
        # Case-insensitive substring on both databases; % and _ in q are literal.
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            func.lower(LectureSession.name).like(pattern, escape="\\")
            | func.lower(LectureSession.module).like(pattern, escape="\\")
        )
    return (
        query.order_by(direction(getattr(LectureSession, sort_by)), direction(LectureSession.id))
        .offset(skip)
        .limit(limit)
    )


def job_status(db: Session, session_id: int) -> tuple[str, float | None, str | None]:
    """The session's status, progress and error (three columns, no ORM object), or NotFound."""
    row = db.execute(
        select(LectureSession.job_status, LectureSession.progress, LectureSession.error_message).where(
            LectureSession.id == session_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"session {session_id} not found")
    return row.job_status, row.progress, row.error_message


def get_session(db: Session, session_id: int, lock: bool = False) -> LectureSession:
    """The session (row-locked on PostgreSQL when `lock`), or NotFound."""
    session = db.get(LectureSession, session_id, with_for_update=lock)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    return session


def update_plan(
    db: Session,
    session_id: int,
    entries: Sequence[PlanEntry],
    max_count: int,
    base_version: int | None = None,
) -> tuple[LectureSession, list[str]]:
    """PATCH /plan: validate and atomically replace a settled session's plan (still at `base_version`)."""
    # Row lock on PostgreSQL: concurrent PATCHes of one session apply one after the other.
    session = get_session(db, session_id, lock=True)
    if session.job_status not in lifecycle.PLAN_EDITABLE:
        raise _not_editable(session)
    validate_plan(entries, session.media_duration, max_count)
    if lifecycle.take_plan_edit(db, session_id, base_version) is None:
        # Changed since it was read (SQLite reads without a lock): say how, from the committed row.
        db.rollback()
        session = get_session(db, session_id)
        if session.job_status not in lifecycle.PLAN_EDITABLE:
            raise _not_editable(session)
        raise Conflict(
            f"the plan changed meanwhile: your edit is based on version {base_version}, the saved plan "
            f"is version {session.plan_version}; load the saved plan and apply your changes again"
        )
    old_files = replace_plan(db, session, entries, origin="manual")
    db.commit()
    db.refresh(session)
    return session, old_files


def _not_editable(session: LectureSession) -> Conflict:
    return Conflict(
        f"session {session.id} is still {session.job_status!r}; edit the plan once it has finished"
    )
