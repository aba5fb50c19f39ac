"""The state machine of sessions and render tasks: every (from-status, transition) pair, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import nats
import pytest
from nats.aio.msg import Msg
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from aiat.jobs.v1 import jobs_pb2
from aiat.nats_server import NatsServer
from aiat_gateway import lifecycle
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.models import (
    LectureSession,
    OutboxMessage,
    RenderTask,
    Snippet,
    Status,
    TaskStatus,
    utcnow,
)
from aiat_gateway.lifecycle import Transition
from aiat_gateway.plans import PlanEntry
from aiat_gateway.worker.state import WorkerDb

JOB = "job-1"
CLAIM = "claim-1"
OLD = utcnow() - dt.timedelta(hours=2)


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on a migrated SQLite or PostgreSQL database."""
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def new_session(factory: sessionmaker[Session], status: Status, n: int, updated_at: dt.datetime = OLD) -> int:
    """A session in `status`, held by JOB, last written at `updated_at`."""
    with factory.begin() as db:
        row = LectureSession(
            name=f"L{n}", drive_link=f"https://drive.google.com/file/d/f{n}/view", drive_file_id=f"f{n}",
            job_status=status, job_id=JOB, attempts=1, progress=0.5, error_message=None, updated_at=updated_at,
        )  # fmt: skip
        db.add(row)
        db.flush()
        return row.id


def read_session(factory: sessionmaker[Session], session_id: int) -> LectureSession:
    with factory() as db:
        row = db.get(LectureSession, session_id)
        assert row is not None
        return row


def outbox_ids(factory: sessionmaker[Session]) -> set[int]:
    with factory() as db:
        return set(db.scalars(select(OutboxMessage.id)))


@dataclass(frozen=True)
class SessionCase:
    """A session transition, the statuses it may leave from, and the status it leads to (None: unchanged)."""

    apply: Callable[[Session, int, str], Transition]
    allowed: frozenset[Status]
    target: Status | None
    enqueues: bool = False
    publishes: bool = True  # False: nothing a client sees changes, so no event


def finish_keeping_plan(db: Session, session_id: int, job_id: str) -> Transition:
    """The transition on a session that a re-transcription keeping its plan started (keep_plan set)."""
    db.execute(
        update(LectureSession)
        .where(LectureSession.id == session_id)
        .values(keep_plan=True, updated_at=LectureSession.updated_at)
    )
    return lifecycle.finish_keeping_plan(db, session_id, job_id)


UNSETTLED = frozenset({Status.PENDING, Status.DOWNLOADING, Status.TRANSCRIBING, Status.ANALYZING})
SESSION_CASES = {
    "start_download": SessionCase(
        lambda db, sid, job: lifecycle.start_download(db, sid, job, 2),
        frozenset({Status.PENDING, Status.DOWNLOADING, Status.TRANSCRIBING}),  # media lost: fetched again
        Status.DOWNLOADING,
    ),
    "start_transcribing": SessionCase(
        lambda db, sid, job: lifecycle.start_transcribing(db, sid, job, 2),
        frozenset({Status.PENDING, Status.DOWNLOADING, Status.TRANSCRIBING}),
        Status.TRANSCRIBING,
    ),
    "start_analyzing": SessionCase(
        lambda db, sid, job: lifecycle.start_analyzing(db, sid, job, 2),
        UNSETTLED,
        Status.ANALYZING,
    ),
    "finish": SessionCase(
        lambda db, sid, job: lifecycle.finish(db, sid, job, [PlanEntry("Intro", 1.0, 5.0)], "lexical"),
        frozenset({Status.ANALYZING}),
        Status.FINISHED,
    ),
    "fail": SessionCase(lambda db, sid, job: lifecycle.fail(db, sid, job, "boom"), UNSETTLED, Status.FAILED),
    "redrive": SessionCase(
        lambda db, sid, job: lifecycle.redrive(db, sid, job), UNSETTLED, None, True, publishes=False
    ),
    "retry": SessionCase(
        lambda db, sid, job: lifecycle.retry(db, sid, job), frozenset({Status.FAILED}), Status.PENDING, True
    ),
    "retranscribe": SessionCase(
        lambda db, sid, job: lifecycle.retranscribe(db, sid, job, keep_plan=False),
        frozenset({Status.FINISHED}),
        Status.PENDING,
        True,
    ),
    "finish_keeping_plan": SessionCase(
        finish_keeping_plan, frozenset({Status.TRANSCRIBING}), Status.FINISHED
    ),
}


@pytest.mark.parametrize("name", sorted(SESSION_CASES))
def test_every_session_transition_from_every_status(factory: sessionmaker[Session], name: str) -> None:
    case = SESSION_CASES[name]
    for n, status in enumerate(Status):
        session_id = new_session(factory, status, n)
        before = read_session(factory, session_id)
        rows_before = outbox_ids(factory)
        with factory.begin() as db:
            transition = case.apply(db, session_id, JOB)
        after = read_session(factory, session_id)
        if status not in case.allowed:
            assert transition == Transition(False), (name, status)
            assert (after.job_status, after.job_id, after.progress, after.attempts, after.updated_at) == (
                before.job_status, before.job_id, before.progress, before.attempts, before.updated_at,
            ), (name, status)  # fmt: skip
            assert outbox_ids(factory) == rows_before
            continue
        target = case.target or status
        assert transition.applied, (name, status)
        assert after.job_status == target and after.updated_at > before.updated_at
        if not case.publishes:
            assert transition.event is None, (name, status)
        else:
            assert transition.event is not None
            assert transition.event.subject == f"aiat.events.session.{session_id}"
            assert transition.event.message == jobs_pb2.SessionEvent(
                session_id=session_id,
                job_status=target,
                progress=after.progress or 0.0,
                error=after.error_message or "",
            )
        if case.enqueues:
            assert after.job_id != JOB  # a fresh job, published through the outbox
            assert outbox_ids(factory) - rows_before == {transition.outbox_id}
            with factory() as db:
                row = db.get(OutboxMessage, transition.outbox_id)
                assert row is not None and row.msg_id == f"session-{after.job_id}"
                assert jobs_pb2.SessionJob.FromString(row.payload).job_id == after.job_id
        else:
            assert after.job_id == JOB and transition.outbox_id is None


def test_session_transitions_write_what_their_status_means(factory: sessionmaker[Session]) -> None:
    sid = new_session(factory, Status.PENDING, 1)
    with factory.begin() as db:
        lifecycle.start_download(db, sid, JOB, 3)
    row = read_session(factory, sid)
    assert (row.progress, row.attempts, row.error_message) == (0.0, 3, None)
    with factory.begin() as db:
        lifecycle.start_analyzing(db, sid, JOB, 3)
        lifecycle.finish(db, sid, JOB, [PlanEntry("A", 1.0, 5.0), PlanEntry("B", 6.0, 9.0)], "lexical")
    row = read_session(factory, sid)
    assert (row.job_status, row.progress, row.analyzer_engine) == (Status.FINISHED, 1.0, "lexical")
    assert row.finished_at is not None
    with factory() as db:
        assert [s.name for s in db.scalars(select(Snippet).where(Snippet.session_id == sid))] == ["A", "B"]
    failed = new_session(factory, Status.TRANSCRIBING, 2)
    with factory.begin() as db:
        transition = lifecycle.fail(db, failed, JOB, "Download failed: quota")
    row = read_session(factory, failed)
    assert (row.job_status, row.error_message, row.progress) == (
        Status.FAILED,
        "Download failed: quota",
        None,
    )
    assert transition.event is not None and transition.event.message.error == "Download failed: quota"
    with factory.begin() as db:
        retried = lifecycle.retry(db, failed, JOB)
    row = read_session(factory, failed)
    assert retried.applied
    assert (row.job_status, row.error_message, row.attempts, row.finished_at) == (
        Status.PENDING,
        None,
        0,
        None,
    )


@pytest.mark.parametrize("name", sorted(SESSION_CASES))
def test_a_superseded_job_id_never_writes(factory: sessionmaker[Session], name: str) -> None:
    case = SESSION_CASES[name]
    for n, status in enumerate(sorted(case.allowed)):
        session_id = new_session(factory, status, n)
        before = read_session(factory, session_id)
        with factory.begin() as db:
            assert case.apply(db, session_id, "an-older-job") == Transition(False)
        after = read_session(factory, session_id)
        assert (after.job_status, after.job_id, after.updated_at) == (status, JOB, before.updated_at)


def test_progress_record_and_touch_are_keyed_on_the_job_and_its_step(factory: sessionmaker[Session]) -> None:
    sid = new_session(factory, Status.TRANSCRIBING, 1)
    with factory.begin() as db:
        assert lifecycle.session_progress(db, sid, JOB, Status.TRANSCRIBING, 0.75)
        assert not lifecycle.session_progress(db, sid, JOB, Status.DOWNLOADING, 0.1)  # a step it left
        assert not lifecycle.session_progress(db, sid, "old", Status.TRANSCRIBING, 0.1)
        assert not lifecycle.record_media(db, sid, JOB, "sessions/1/source/x.mp4", 9.0, "x.mp4")
        assert lifecycle.record_transcript(db, sid, JOB, "sessions/1/transcript.json", "en")
        assert not lifecycle.record_transcript(db, sid, "old", "elsewhere.json", "de")
        assert lifecycle.touch_session(db, sid, JOB)
        assert not lifecycle.touch_session(db, sid, "old")
    row = read_session(factory, sid)
    assert (row.progress, row.media_path, row.transcript_path, row.language) == (
        0.75, None, "sessions/1/transcript.json", "en",
    )  # fmt: skip


def test_an_old_run_cannot_regress_a_finished_session(factory: sessionmaker[Session]) -> None:
    sid = new_session(factory, Status.ANALYZING, 1)
    with factory.begin() as db:  # the stalled run's job is re-driven; the new job finishes
        new_job = read_session(factory, sid).job_id
        redriven = lifecycle.redrive(db, sid, new_job)
    new_job = read_session(factory, sid).job_id
    assert redriven.applied and new_job != JOB
    with factory.begin() as db:
        assert lifecycle.start_analyzing(db, sid, new_job, 1).applied
        assert lifecycle.finish(db, sid, new_job, [PlanEntry("Intro", 1.0, 5.0)], "lexical").applied
    finished = read_session(factory, sid)
    with factory.begin() as db:  # the old run wakes up, late
        assert lifecycle.start_analyzing(db, sid, JOB, 1) == Transition(False)
        assert not lifecycle.session_progress(db, sid, JOB, Status.ANALYZING, 0.5)
        assert lifecycle.finish(db, sid, JOB, [], None) == Transition(False)
        assert lifecycle.fail(db, sid, JOB, "late failure") == Transition(False)
        # Even the current job cannot move a Finished session back.
        assert lifecycle.start_analyzing(db, sid, new_job, 2) == Transition(False)
    after = read_session(factory, sid)
    assert (after.job_status, after.progress, after.updated_at) == (Status.FINISHED, 1.0, finished.updated_at)
    with factory() as db:
        assert [s.name for s in db.scalars(select(Snippet).where(Snippet.session_id == sid))] == ["Intro"]


async def test_a_superseded_job_publishes_no_event(database_url: str, nats_server: NatsServer) -> None:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    sid = new_session(factory, Status.FINISHED, 1)
    nc = await nats.connect(nats_server.url)
    seen: list[jobs_pb2.SessionEvent] = []

    async def on_msg(msg: Msg) -> None:
        seen.append(jobs_pb2.SessionEvent.FromString(msg.data))

    await nc.subscribe(f"aiat.events.session.{sid}", cb=on_msg)
    await nc.flush()
    db = WorkerDb(factory, nc)
    try:
        assert not (await db.transition(lifecycle.start_analyzing, sid, "old-job", 1)).applied
        assert not (await db.transition(lifecycle.start_analyzing, sid, JOB, 1)).applied
        await nc.flush()
        await asyncio.sleep(0.3)
        assert seen == []
        with factory.begin() as s:  # a retry elsewhere makes it Failed -> Pending; this one does publish
            s.get(LectureSession, sid).job_status = Status.FAILED  # type: ignore[union-attr]
        assert (await db.transition(lifecycle.retry, sid, JOB)).applied
        await nc.flush()
        for _ in range(50):
            if seen:
                break
            await asyncio.sleep(0.05)
        assert [e.job_status for e in seen] == ["Pending"]
    finally:
        await nc.close()
        engine.dispose()


# Render tasks


def new_task(factory: sessionmaker[Session], status: TaskStatus, n: int, updated_at: dt.datetime) -> str:
    """A render task in `status` held by CLAIM, for a snippet of a fresh Finished session."""
    sid = new_session(factory, Status.FINISHED, 1000 + n)
    with factory.begin() as db:
        snippet = Snippet(session_id=sid, position=1, name="Intro", start=1.0, end=5.0, start_second=1,
                          end_second=5)  # fmt: skip
        db.add(snippet)
        db.flush()
        task = RenderTask(task_id=f"task-{n}", snippet_id=snippet.id, session_id=sid, status=status,
                          claim_id=CLAIM, attempts=1, updated_at=updated_at)  # fmt: skip
        db.add(task)
    return f"task-{n}"


def read_task(factory: sessionmaker[Session], task_id: str) -> RenderTask:
    with factory() as db:
        row = db.get(RenderTask, task_id)
        assert row is not None
        return row


@dataclass(frozen=True)
class TaskCase:
    """A task transition, the statuses it may leave from, and the status it leads to."""

    apply: Callable[[Session, RenderTask, str], Transition]
    allowed: frozenset[TaskStatus]
    target: TaskStatus
    enqueues: bool = False
    silent_from: frozenset[TaskStatus] = frozenset()  # statuses it leaves unchanged, so with no event


def _succeed(db: Session, task: RenderTask, claim: str) -> Transition:
    assert task.snippet_id is not None
    return lifecycle.succeed_task(db, task.task_id, claim, task.snippet_id, "1)_Intro.mp4", "output/x.mp4")


TASK_UNSETTLED = frozenset({TaskStatus.PENDING, TaskStatus.STARTED})
TASK_CASES = {
    # A fresh STARTED task is held by a live delivery: no claim; a silent one: see the takeover test.
    "claim_task": TaskCase(
        lambda db, t, claim: lifecycle.claim_task(
            db, t.task_id, "claim-2", 4, utcnow() - dt.timedelta(hours=1)
        ),
        frozenset({TaskStatus.PENDING}),
        TaskStatus.STARTED,
    ),
    "requeue_task": TaskCase(
        lambda db, t, claim: lifecycle.requeue_task(db, t.task_id, claim),
        frozenset({TaskStatus.STARTED}),
        TaskStatus.PENDING,
    ),
    "succeed_task": TaskCase(_succeed, frozenset({TaskStatus.STARTED}), TaskStatus.SUCCESS),
    "fail_task": TaskCase(
        lambda db, t, claim: lifecycle.fail_task(db, t.task_id, claim, "boom"),
        TASK_UNSETTLED,
        TaskStatus.FAILURE,
    ),
    "redrive_task": TaskCase(
        lambda db, t, claim: lifecycle.redrive_task(db, t.task_id, claim),
        TASK_UNSETTLED,
        TaskStatus.PENDING,
        True,
        frozenset({TaskStatus.PENDING}),
    ),
}


@pytest.mark.parametrize("name", sorted(TASK_CASES))
def test_every_task_transition_from_every_status(factory: sessionmaker[Session], name: str) -> None:
    case = TASK_CASES[name]
    for n, status in enumerate(TaskStatus):
        # Fresh rows, so a STARTED task's holder is alive (the claim may not take it over).
        task_id = new_task(factory, status, n, utcnow())
        before = read_task(factory, task_id)
        rows_before = outbox_ids(factory)
        with factory.begin() as db:
            transition = case.apply(db, before, CLAIM)
        after = read_task(factory, task_id)
        if status not in case.allowed:
            assert transition == Transition(False), (name, status)
            assert (after.status, after.claim_id, after.updated_at, after.result) == (
                before.status, before.claim_id, before.updated_at, before.result,
            ), (name, status)  # fmt: skip
            assert outbox_ids(factory) == rows_before
            continue
        assert transition.applied, (name, status)
        assert after.status == case.target and after.updated_at > before.updated_at
        if status in case.silent_from:
            assert transition.event is None, (name, status)
        else:
            assert transition.event is not None
            assert transition.event.subject == f"aiat.events.task.{task_id}"
            assert transition.event.message == jobs_pb2.TaskEvent(
                task_id=task_id,
                snippet_id=after.snippet_id or 0,
                status=case.target,
                progress=after.progress or 0.0,
                result=after.result or "",
                error=after.error or "",
            )
        if case.enqueues:
            assert outbox_ids(factory) - rows_before == {transition.outbox_id}
        else:
            assert transition.outbox_id is None


@pytest.mark.parametrize("name", sorted(set(TASK_CASES) - {"claim_task"}))
def test_a_task_writes_only_under_its_current_claim(factory: sessionmaker[Session], name: str) -> None:
    case = TASK_CASES[name]
    for n, status in enumerate(sorted(case.allowed)):
        task_id = new_task(factory, status, n, utcnow())
        before = read_task(factory, task_id)
        with factory.begin() as db:
            assert case.apply(db, before, "a-superseded-claim") == Transition(False)
        assert read_task(factory, task_id).updated_at == before.updated_at


def test_task_claim_takes_over_a_silent_holder_which_then_cannot_write(
    factory: sessionmaker[Session],
) -> None:
    task_id = new_task(factory, TaskStatus.STARTED, 1, OLD)
    silent_before = utcnow() - dt.timedelta(minutes=1)
    with factory.begin() as db:
        taken = lifecycle.claim_task(db, task_id, "claim-2", 2, silent_before)
        assert taken.applied and taken.event is not None
        assert isinstance(taken.event.message, jobs_pb2.TaskEvent) and taken.event.message.status == "STARTED"
        assert not lifecycle.claim_task(db, task_id, "claim-3", 3, silent_before).applied  # now alive
        assert not lifecycle.task_progress(db, task_id, CLAIM, 0.9)
        assert lifecycle.requeue_task(db, task_id, CLAIM) == Transition(False)
        assert lifecycle.task_progress(db, task_id, "claim-2", 0.4)
    row = read_task(factory, task_id)
    assert (row.status, row.claim_id, row.attempts, row.progress) == (TaskStatus.STARTED, "claim-2", 2, 0.4)


def test_succeed_records_the_file_and_requeue_releases_the_claim(factory: sessionmaker[Session]) -> None:
    task_id = new_task(factory, TaskStatus.STARTED, 1, utcnow())
    with factory.begin() as db:
        assert _succeed(db, read_task(factory, task_id), CLAIM).applied
    row = read_task(factory, task_id)
    assert (row.result, row.error, row.progress, row.output_path) == (
        "Processed 1 videos.",
        None,
        1.0,
        "output/x.mp4",
    )
    with factory() as db:
        assert db.get(Snippet, row.snippet_id).storage_link == "1)_Intro.mp4"  # type: ignore[union-attr]
    other = new_task(factory, TaskStatus.STARTED, 2, utcnow())
    with factory.begin() as db:
        assert lifecycle.requeue_task(db, other, CLAIM).applied
        assert lifecycle.claim_task(db, other, "claim-2", 2, utcnow() - dt.timedelta(hours=1)).applied
    assert read_task(factory, other).claim_id == "claim-2"


def test_idle_before_refuses_a_row_written_since(factory: sessionmaker[Session]) -> None:
    sid = new_session(factory, Status.TRANSCRIBING, 1, updated_at=utcnow())
    task_id = new_task(factory, TaskStatus.STARTED, 1, utcnow())
    cutoff = utcnow() - dt.timedelta(minutes=5)
    with factory.begin() as db:
        assert lifecycle.fail(db, sid, JOB, "stalled", idle_before=cutoff) == Transition(False)
        assert lifecycle.redrive(db, sid, JOB, idle_before=cutoff) == Transition(False)
        assert lifecycle.fail_task(db, task_id, CLAIM, "stalled", idle_before=cutoff) == Transition(False)
        assert lifecycle.redrive_task(db, task_id, CLAIM, idle_before=cutoff) == Transition(False)
    assert read_session(factory, sid).job_status == Status.TRANSCRIBING
    assert read_task(factory, task_id).status == TaskStatus.STARTED


def test_failures_can_keep_the_progress_and_leave_the_result_empty(factory: sessionmaker[Session]) -> None:
    sid = new_session(factory, Status.TRANSCRIBING, 1)
    with factory.begin() as db:
        assert lifecycle.fail(db, sid, JOB, "stalled", keep_progress=True).applied
    assert read_session(factory, sid).progress == 0.5
    task_id = new_task(factory, TaskStatus.STARTED, 1, utcnow())
    with factory.begin() as db:
        lifecycle.task_progress(db, task_id, CLAIM, 0.3)
        changed = lifecycle.fail_task(db, task_id, CLAIM, "changed", error_as_result=False, progress=1.0)
    row = read_task(factory, task_id)
    assert (row.status, row.result, row.error, row.progress) == (TaskStatus.FAILURE, None, "changed", 1.0)
    assert changed.event is not None and changed.event.message.progress == 1.0
