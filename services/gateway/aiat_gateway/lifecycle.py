"""Every status change of a session and of a render task: one function per transition.

Each transition is one conditional UPDATE keyed on the job that holds the row (a session's `job_id`,
a render task's `claim_id`) and on the statuses it may leave from, so a superseded job never writes
and a status never goes backwards. It runs in the caller's transaction and returns whether it applied
and the one event to publish once that transaction has committed. Rows are born `Pending` (sessions.py)
and `PENDING` (tasks.py).

    session: Pending -> Processing: Downloading -> Processing: Transcribing -> Processing: Analyzing
             -> Finished; Transcribing -> Downloading (media lost); unsettled -> Failed; Failed -> Pending;
             Finished -> Pending (re-transcription); Transcribing -> Finished (re-transcription keeping the plan)
    task:    PENDING -> STARTED -> SUCCESS | FAILURE; STARTED -> PENDING (requeue); unsettled -> FAILURE
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from aiat_gateway.db.models import LectureSession, RenderTask, Snippet, Status, TaskStatus, utcnow
from aiat_gateway.events import Event, session_event, task_event
from aiat_gateway.jobs import enqueue_render_job, enqueue_session_job, new_job_id
from aiat_gateway.plans import PlanEntry, replace_plan
from aiat_gateway.slides import SlideEntry, replace_slides

ACTIVE = frozenset({Status.PENDING, Status.DOWNLOADING, Status.TRANSCRIBING, Status.ANALYZING})
SETTLED = frozenset({Status.FINISHED, Status.FAILED})
TASK_ACTIVE = frozenset({TaskStatus.PENDING, TaskStatus.STARTED})
TASK_SETTLED = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE})

# The session state machine: the statuses each transition may leave from.
# Transcribing may go back to Downloading: media lost before its transcript was made is fetched again.
START_DOWNLOAD_FROM = frozenset({Status.PENDING, Status.DOWNLOADING, Status.TRANSCRIBING})
START_TRANSCRIBING_FROM = START_DOWNLOAD_FROM
START_ANALYZING_FROM = START_TRANSCRIBING_FROM | {Status.ANALYZING}
FINISH_FROM = frozenset({Status.ANALYZING})
FAIL_FROM = ACTIVE
REDRIVE_FROM = ACTIVE
RETRY_FROM = frozenset({Status.FAILED})
RETRANSCRIBE_FROM = frozenset({Status.FINISHED})
FINISH_KEEPING_PLAN_FROM = frozenset({Status.TRANSCRIBING})
# Not a transition: a person may replace the plan of a settled session only.
PLAN_EDITABLE = SETTLED

# The render task state machine.
CLAIM_FROM = frozenset({TaskStatus.PENDING})  # and STARTED once its holder fell silent
REQUEUE_TASK_FROM = frozenset({TaskStatus.STARTED})
SUCCEED_TASK_FROM = frozenset({TaskStatus.STARTED})
FAIL_TASK_FROM = TASK_ACTIVE
REDRIVE_TASK_FROM = TASK_ACTIVE

RENDERED = "Processed 1 videos."


@dataclass(frozen=True)
class Transition:
    """What a transition did: whether it applied, the event to publish, the job it enqueued."""

    applied: bool
    event: Event | None = None
    outbox_id: int | None = None


REFUSED = Transition(False)


def _session(
    db: Session,
    session_id: int,
    job_id: str,
    sources: Collection[Status],
    values: Mapping[str, object],
    idle_before: dt.datetime | None = None,
    keep_plan: bool | None = None,
) -> Transition:
    conditions: list[ColumnElement[bool]] = [
        LectureSession.id == session_id,
        LectureSession.job_id == job_id,
        LectureSession.job_status.in_(sources),
    ]
    if idle_before is not None:
        conditions.append(LectureSession.updated_at < idle_before)
    if keep_plan is not None:
        conditions.append(LectureSession.keep_plan.is_(keep_plan))
    row = db.execute(
        update(LectureSession)
        .where(*conditions)
        .values({"updated_at": utcnow(), **values})
        .returning(LectureSession.job_status, LectureSession.progress, LectureSession.error_message)
    ).one_or_none()
    if row is None:
        return REFUSED
    return Transition(True, session_event(session_id, row.job_status, row.progress, row.error_message))


def _task(
    db: Session,
    task_id: str,
    condition: ColumnElement[bool],
    values: Mapping[str, object],
    idle_before: dt.datetime | None = None,
) -> Transition:
    conditions = [RenderTask.task_id == task_id, condition]
    if idle_before is not None:
        conditions.append(RenderTask.updated_at < idle_before)
    row = db.execute(
        update(RenderTask)
        .where(*conditions)
        .values({"updated_at": utcnow(), **values})
        .returning(
            RenderTask.snippet_id, RenderTask.status, RenderTask.progress, RenderTask.result, RenderTask.error
        )
    ).one_or_none()
    if row is None:
        return REFUSED
    return Transition(
        True, task_event(task_id, row.snippet_id, row.status, row.progress, row.result, row.error)
    )


def _held(claim_id: str, sources: Collection[TaskStatus]) -> ColumnElement[bool]:
    return (RenderTask.claim_id == claim_id) & RenderTask.status.in_(sources)


# Sessions: the worker's job (keyed on the job id it carries).


def start_download(db: Session, session_id: int, job_id: str, attempt: int) -> Transition:
    """-> Processing: Downloading, for delivery number `attempt` of the job."""
    values = {"job_status": Status.DOWNLOADING, "progress": 0.0, "error_message": None, "attempts": attempt}
    return _session(db, session_id, job_id, START_DOWNLOAD_FROM, values)


def start_transcribing(db: Session, session_id: int, job_id: str, attempt: int) -> Transition:
    """-> Processing: Transcribing (the media is stored)."""
    values = {"job_status": Status.TRANSCRIBING, "progress": 0.0, "attempts": attempt}
    return _session(db, session_id, job_id, START_TRANSCRIBING_FROM, values)


def start_analyzing(db: Session, session_id: int, job_id: str, attempt: int) -> Transition:
    """-> Processing: Analyzing (the transcript is stored)."""
    values = {"job_status": Status.ANALYZING, "progress": 0.0, "attempts": attempt}
    return _session(db, session_id, job_id, START_ANALYZING_FROM, values)


def finish(
    db: Session,
    session_id: int,
    job_id: str,
    entries: list[PlanEntry],
    engine: str | None,
    slides: Sequence[SlideEntry] = (),
) -> Transition:
    """Processing: Analyzing -> Finished, storing the analyzer's plan and slides in the same transaction."""
    # The conditional UPDATE takes the row's write lock first, so of two deliveries racing here
    # (two replicas, or a duplicate) exactly one stores the plan.
    values = {
        "job_status": Status.FINISHED,
        "progress": 1.0,
        "error_message": None,
        "analyzer_engine": engine or None,
        "finished_at": utcnow(),
        "plan_version": LectureSession.plan_version + 1,
    }
    transition = _session(db, session_id, job_id, FINISH_FROM, values)
    if transition.applied:
        session = db.get(LectureSession, session_id, populate_existing=True)
        assert session is not None  # the UPDATE just matched it
        replace_plan(db, session, entries, origin="analyzer")
        replace_slides(db, session_id, slides)
    return transition


def finish_keeping_plan(db: Session, session_id: int, job_id: str) -> Transition:
    """Processing: Transcribing -> Finished for a re-transcription that keeps the plan (no analysis)."""
    values = {
        "job_status": Status.FINISHED,
        "progress": 1.0,
        "error_message": None,
        "keep_plan": False,
        "finished_at": utcnow(),
    }
    # Only a job started by retranscribe(keep_plan=True) may skip the analysis.
    return _session(db, session_id, job_id, FINISH_KEEPING_PLAN_FROM, values, keep_plan=True)


def fail(
    db: Session,
    session_id: int,
    job_id: str,
    message: str,
    idle_before: dt.datetime | None = None,
    *,
    keep_progress: bool = False,
) -> Transition:
    """Unsettled -> Failed with the error (optionally only when idle since `idle_before`)."""
    values: dict[str, object] = {
        "job_status": Status.FAILED,
        "error_message": message,
        "finished_at": utcnow(),
    }
    if not keep_progress:  # the reconciler's stall failure keeps the last progress, as it always did
        values["progress"] = None
    return _session(db, session_id, job_id, FAIL_FROM, values, idle_before)


def record_media(
    db: Session, session_id: int, job_id: str, media_path: str, duration: float, filename: str | None
) -> bool:
    """Store the downloaded media on a session that is downloading for this job."""
    values = {"media_path": media_path, "media_duration": duration, "source_filename": filename}
    return _session(db, session_id, job_id, {Status.DOWNLOADING}, values).applied


def record_transcript(
    db: Session, session_id: int, job_id: str, transcript_path: str, language: str | None
) -> bool:
    """Store the transcript on a session that is transcribing for this job."""
    values = {"transcript_path": transcript_path, "language": language}
    return _session(db, session_id, job_id, {Status.TRANSCRIBING}, values).applied


def session_progress(db: Session, session_id: int, job_id: str, status: Status, progress: float) -> bool:
    """Progress within the current step, only while the job is still in that step."""
    return _session(db, session_id, job_id, {status}, {"progress": progress}).applied


def touch_session(db: Session, session_id: int, job_id: str) -> bool:
    """Heartbeat: the job is alive (keeps the reconciler from re-driving it)."""
    return _session(db, session_id, job_id, ACTIVE, {}).applied


# Sessions: the reconciler and the API.


def redrive(db: Session, session_id: int, job_id: str, idle_before: dt.datetime | None = None) -> Transition:
    """Same status under a fresh job (its job was lost); carries the new outbox row and no event."""
    new_id = new_job_id()
    transition = _session(db, session_id, job_id, REDRIVE_FROM, {"job_id": new_id}, idle_before)
    if not transition.applied:
        return transition
    # Nothing a client sees changed (the job id is internal), so there is nothing to announce.
    return Transition(True, None, enqueue_session_job(db, session_id, new_id))


def retry(db: Session, session_id: int, job_id: str) -> Transition:
    """Failed -> Pending under a fresh job, clearing the error and the attempt count."""
    new_id = new_job_id()
    values = {
        "job_status": Status.PENDING,
        "job_id": new_id,
        "error_message": None,
        "progress": None,
        "attempts": 0,
        "finished_at": None,
    }
    transition = _session(db, session_id, job_id, RETRY_FROM, values)
    if not transition.applied:
        return transition
    return replace(transition, outbox_id=enqueue_session_job(db, session_id, new_id))


def retranscribe(db: Session, session_id: int, job_id: str, keep_plan: bool) -> Transition:
    """Finished -> Pending under a fresh job that transcribes again (with the session's current
    vocabulary, language and model), then analyzes, or only finishes when `keep_plan`."""
    new_id = new_job_id()
    values = {
        "job_status": Status.PENDING,
        "job_id": new_id,
        "transcript_path": None,
        "error_message": None,
        "progress": None,
        "attempts": 0,
        "finished_at": None,
        "keep_plan": keep_plan,
    }
    transition = _session(db, session_id, job_id, RETRANSCRIBE_FROM, values)
    if not transition.applied:
        return transition
    return replace(transition, outbox_id=enqueue_session_job(db, session_id, new_id))


# Plans: a person's edit.


def take_plan_edit(db: Session, session_id: int, base_version: int | None) -> int | None:
    """Bump the plan version of a settled session (still at `base_version` when given) in the
    caller's transaction, before it replaces the plan; the new version, or None when refused."""
    # Check and bump in one conditional UPDATE: it takes the row's write lock, so of two edits based
    # on the same version exactly one matches (the other waits, then sees the bumped version).
    conditions = [LectureSession.id == session_id, LectureSession.job_status.in_(PLAN_EDITABLE)]
    if base_version is not None:
        conditions.append(LectureSession.plan_version == base_version)
    return db.execute(
        update(LectureSession)
        .where(*conditions)
        .values(plan_version=LectureSession.plan_version + 1)
        .returning(LectureSession.plan_version)
    ).scalar_one_or_none()


# Render tasks: the worker's delivery (keyed on the claim id it took).


def claim_task(
    db: Session, task_id: str, claim_id: str, attempt: int, silent_before: dt.datetime
) -> Transition:
    """PENDING -> STARTED, or take over a STARTED task not heard of since `silent_before`."""
    condition = RenderTask.status.in_(CLAIM_FROM) | (
        (RenderTask.status == TaskStatus.STARTED) & (RenderTask.updated_at < silent_before)
    )
    values = {"status": TaskStatus.STARTED, "claim_id": claim_id, "attempts": attempt, "progress": 0.0}
    return _task(db, task_id, condition, values)


def task_progress(db: Session, task_id: str, claim_id: str, progress: float) -> bool:
    """Render progress, only while this claim holds the task."""
    return _task(db, task_id, _held(claim_id, {TaskStatus.STARTED}), {"progress": progress}).applied


def requeue_task(db: Session, task_id: str, claim_id: str) -> Transition:
    """STARTED -> PENDING (a transient failure: the redelivery claims it again)."""
    values = {"status": TaskStatus.PENDING, "claim_id": ""}
    return _task(db, task_id, _held(claim_id, REQUEUE_TASK_FROM), values)


def succeed_task(
    db: Session,
    task_id: str,
    claim_id: str,
    snippet_id: int,
    storage_link: str,
    output_path: str,
    framing: dict[str, object] | None = None,
) -> Transition:
    """STARTED -> SUCCESS, recording the file (and how it was framed) on the snippet in the same transaction."""
    values = {
        "status": TaskStatus.SUCCESS,
        "result": RENDERED,
        "error": None,
        "progress": 1.0,
        "output_path": output_path,
        "framing": framing,
        "finished_at": utcnow(),
    }
    transition = _task(db, task_id, _held(claim_id, SUCCEED_TASK_FROM), values)
    if transition.applied:
        db.execute(
            update(Snippet).where(Snippet.id == snippet_id).values(storage_link=storage_link, framing=framing)
        )
    return transition


def fail_task(
    db: Session,
    task_id: str,
    claim_id: str,
    message: str,
    idle_before: dt.datetime | None = None,
    *,
    error_as_result: bool = True,
    progress: float | None = None,
) -> Transition:
    """Unsettled -> FAILURE with the error (also the result unless told not); progress kept unless given."""
    values: dict[str, object] = {
        "status": TaskStatus.FAILURE,
        "error": message,
        "result": message if error_as_result else None,
        "finished_at": utcnow(),
    }
    if progress is not None:
        values["progress"] = progress
    return _task(db, task_id, _held(claim_id, FAIL_TASK_FROM), values, idle_before)


def touch_task(db: Session, task_id: str) -> bool:
    """Heartbeat of a delivery in hand (keeps the reconciler and other deliveries off it)."""
    return _task(db, task_id, RenderTask.status.in_(TASK_ACTIVE), {}).applied


def redrive_task(
    db: Session, task_id: str, claim_id: str, idle_before: dt.datetime | None = None
) -> Transition:
    """Unsettled -> PENDING under a fresh job (its delivery was lost); carries the new outbox row."""
    # An event only when the status changed (left STARTED): a re-driven PENDING task looks the same.
    values = {"status": TaskStatus.PENDING, "claim_id": ""}
    transition = _task(db, task_id, _held(claim_id, {TaskStatus.STARTED}), values, idle_before)
    if not transition.applied:
        queued = REDRIVE_TASK_FROM - {TaskStatus.STARTED}
        if not _task(db, task_id, _held(claim_id, queued), values, idle_before).applied:
            return REFUSED
        transition = Transition(True)
    snippet_id = db.scalar(select(RenderTask.snippet_id).where(RenderTask.task_id == task_id))
    return replace(transition, outbox_id=enqueue_render_job(db, task_id, snippet_id))
