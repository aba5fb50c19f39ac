"""The reconciler: stale sessions and tasks are re-driven, or failed with an event after too many attempts."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import nats
from nats.aio.msg import Msg
from sqlalchemy import update

from aiat.jobs.v1 import jobs_pb2
from aiat.nats_server import NatsServer
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.models import LectureSession, OutboxMessage, RenderTask, Status, TaskStatus, utcnow
from aiat_gateway.events import Event
from aiat_gateway.nats_client import NatsClient
from aiat_gateway.plans import PlanEntry, replace_plan
from aiat_gateway.sessions import create_session
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.tasks import start_render
from aiat_gateway.worker.reconciler import Reconciler, sweep_stale
from tests.gateway import seed
from tests.gateway.conftest import make_settings

STALE = dt.timedelta(seconds=600)


def settings_for(tmp_path: Path, database_url: str, nats_url: str = "nats://127.0.0.1:1") -> GatewaySettings:
    return make_settings(tmp_path, database_url, nats_url).model_copy(
        update={"job_stale_seconds": 60, "job_max_deliver": 3}
    )


def stale_session(settings: GatewaySettings, n: int, status: Status, attempts: int) -> tuple[int, str]:
    """A session in `status` whose last write was 10 minutes ago; returns its id and job id."""
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory.begin() as db:
        session, _ = create_session(db, f"L{n}", None, seed.LINK.format(seed.file_id(n)), seed.file_id(n))
    with factory.begin() as db:
        db.execute(
            update(LectureSession)
            .where(LectureSession.id == session.id)
            .values(job_status=status, attempts=attempts, updated_at=utcnow() - STALE)
        )
    return session.id, session.job_id


def stale_task(settings: GatewaySettings, n: int, attempts: int) -> str:
    """A STARTED render task whose worker fell silent 10 minutes ago."""
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory.begin() as db:
        session, _ = create_session(db, f"T{n}", None, seed.LINK.format(seed.file_id(n)), seed.file_id(n))
    with factory.begin() as db:
        row = db.get(LectureSession, session.id)
        assert row is not None
        row.job_status, row.media_path = Status.FINISHED, "sessions/x/lecture.mp4"
        replace_plan(db, row, [PlanEntry("Intro", 1.0, 5.0)], origin="analyzer")
        snippet_id = row.snippets[0].id
    with factory() as db:
        task, _ = start_render(db, snippet_id, {})
    with factory.begin() as db:
        db.execute(
            update(RenderTask)
            .where(RenderTask.task_id == task.task_id)
            .values(
                status=TaskStatus.STARTED, claim_id="gone", attempts=attempts, updated_at=utcnow() - STALE
            )
        )
    return task.task_id


def test_stale_work_is_redriven_or_failed_with_an_event_only_for_a_visible_change(
    tmp_path: Path, database_url: str
) -> None:
    settings = settings_for(tmp_path, database_url)
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    redriven, old_job = stale_session(settings, 1, Status.TRANSCRIBING, attempts=1)
    exhausted, _ = stale_session(settings, 2, Status.ANALYZING, attempts=3)
    task_redriven = stale_task(settings, 3, attempts=1)
    task_exhausted = stale_task(settings, 4, attempts=3)
    found: list[Event] = []
    rows = sweep_stale(factory, settings, found.append)
    with factory() as db:
        s1, s2 = db.get(LectureSession, redriven), db.get(LectureSession, exhausted)
        t1, t2 = db.get(RenderTask, task_redriven), db.get(RenderTask, task_exhausted)
        assert s1 is not None and s2 is not None and t1 is not None and t2 is not None
        assert s1.job_status == Status.TRANSCRIBING and s1.job_id != old_job
        assert s2.job_status == Status.FAILED
        assert s2.error_message == "processing stopped responding after 3 attempts"
        assert (t1.status, t1.claim_id) == (TaskStatus.PENDING, "")
        assert t2.status == TaskStatus.FAILURE and t2.error == "rendering stopped responding after 3 attempts"
        subjects = sorted(db.get(OutboxMessage, r).subject for r in rows)  # type: ignore[union-attr]
    assert subjects == ["aiat.jobs.render", "aiat.jobs.session"]  # the two re-drives, published later
    sessions = {
        e.message.session_id: e.message for e in found if isinstance(e.message, jobs_pb2.SessionEvent)
    }
    tasks = {e.message.task_id: e.message for e in found if isinstance(e.message, jobs_pb2.TaskEvent)}
    by_subject = {e.subject: e.message for e in found}
    assert len(found) == 3 and len(by_subject) == 3  # a session re-drive changes nothing visible
    assert sessions[exhausted] == jobs_pb2.SessionEvent(
        session_id=exhausted, job_status="Failed", progress=0.0, error=s2.error_message
    )
    assert redriven not in sessions
    failed_task = tasks[task_exhausted]
    assert (failed_task.status, failed_task.error) == (
        "FAILURE",
        "rendering stopped responding after 3 attempts",
    )
    assert tasks[task_redriven].status == "PENDING"
    found.clear()
    assert sweep_stale(factory, settings, found.append) == [] and found == []  # nothing stale any more


def test_recent_work_and_settled_rows_are_left_alone(tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    queued, job = stale_session(settings, 1, Status.PENDING, attempts=0)  # queued 10 min: within the hour
    done, _ = stale_session(settings, 2, Status.FINISHED, attempts=1)
    found: list[Event] = []
    assert sweep_stale(factory, settings, found.append) == [] and found == []
    with factory() as db:
        assert db.get(LectureSession, queued).job_id == job  # type: ignore[union-attr]
        assert db.get(LectureSession, done).job_status == Status.FINISHED  # type: ignore[union-attr]


async def test_tick_publishes_the_failure_event_and_the_redriven_job(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    settings = settings_for(tmp_path, database_url, nats_server.url)
    failed, _ = await asyncio.to_thread(stale_session, settings, 1, Status.DOWNLOADING, 5)
    await asyncio.to_thread(stale_session, settings, 2, Status.DOWNLOADING, 1)  # re-driven, silently
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    nc = await nats.connect(nats_server.url)
    seen: list[jobs_pb2.SessionEvent] = []

    async def on_msg(msg: Msg) -> None:
        seen.append(jobs_pb2.SessionEvent.FromString(msg.data))

    await nc.subscribe("aiat.events.session.*", cb=on_msg)
    await nc.flush()
    client = NatsClient(nats_server.url, settings.jobs_stream)
    await client.connect(wait=10)
    js = nc.jetstream()
    try:
        before = (await js.stream_info(settings.jobs_stream)).state.messages
        await Reconciler(factory, client, settings).tick()
        for _ in range(50):
            if seen:
                break
            await asyncio.sleep(0.05)
        await nc.flush()
        await asyncio.sleep(0.3)  # the re-drive must stay silent
        assert [(e.session_id, e.job_status) for e in seen] == [(failed, "Failed")]
        after = (await js.stream_info(settings.jobs_stream)).state.messages
        assert after - before == 3  # both creations' jobs, left in the outbox, and the re-drive
    finally:
        await client.close()
        await nc.close()


def test_a_stalled_session_fails_keeping_its_progress(tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    stalled, _ = stale_session(settings, 1, Status.TRANSCRIBING, attempts=3)
    with factory.begin() as db:
        db.execute(update(LectureSession).where(LectureSession.id == stalled).values(progress=0.4))
        db.execute(
            update(LectureSession).where(LectureSession.id == stalled).values(updated_at=utcnow() - STALE)
        )
    found: list[Event] = []
    sweep_stale(factory, settings, found.append)
    with factory() as db:
        row = db.get(LectureSession, stalled)
        assert row is not None and (row.job_status, row.progress) == (Status.FAILED, 0.4)
    assert [e.message for e in found] == [
        jobs_pb2.SessionEvent(session_id=stalled, job_status="Failed", progress=0.4, error=row.error_message)
    ]
