"""Render task logic under the API: one task per snippet while it runs, and only for a finished session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from aiat.jobs.v1 import jobs_pb2
from aiat_gateway import sessions, tasks
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.models import LectureSession, OutboxMessage, RenderTask, Status, TaskStatus
from aiat_gateway.errors import Conflict, NotFound
from aiat_gateway.plans import PlanEntry, replace_plan
from tests.gateway import seed


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def snippet_of(factory: sessionmaker[Session], status: Status) -> int:
    """A snippet of a session in `status` that has its media."""
    with factory() as db:
        session, _ = sessions.create_session(
            db, "L", None, seed.LINK.format(seed.file_id(1)), seed.file_id(1)
        )
    with factory.begin() as db:
        row = db.get(LectureSession, session.id)
        assert row is not None
        row.job_status, row.media_path = status, "sessions/1/lecture.mp4"
        replace_plan(db, row, [PlanEntry("Intro", 1.0, 5.0)], origin="analyzer")
        return row.snippets[0].id


def render_jobs(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        return int(db.scalar(select(func.count()).where(OutboxMessage.subject == "aiat.jobs.render")) or 0)


def test_start_render_makes_one_task_per_snippet_while_it_runs(factory: sessionmaker[Session]) -> None:
    snippet_id = snippet_of(factory, Status.FINISHED)
    with factory() as db:
        task, row_id = tasks.start_render(db, snippet_id, {"aspect": "vertical"})
    assert task.status == TaskStatus.PENDING and task.claim_id == "" and row_id is not None
    with factory() as db:
        job_row = db.get(OutboxMessage, row_id)
        assert job_row is not None
        assert jobs_pb2.RenderJob.FromString(job_row.payload) == jobs_pb2.RenderJob(
            task_id=task.task_id, snippet_id=snippet_id
        )
        again, none = tasks.start_render(db, snippet_id, {})
    assert (again.task_id, none) == (task.task_id, None) and render_jobs(factory) == 1
    with factory.begin() as db:
        settled = db.get(RenderTask, task.task_id)
        assert settled is not None
        settled.status = TaskStatus.FAILURE
    with factory() as db:
        fresh, fresh_row = tasks.start_render(db, snippet_id, {})
    assert fresh.task_id != task.task_id and fresh_row is not None and render_jobs(factory) == 2


@pytest.mark.parametrize("status", [s for s in Status if s != Status.FINISHED])
def test_start_render_needs_a_finished_session(factory: sessionmaker[Session], status: Status) -> None:
    snippet_id = snippet_of(factory, status)
    with factory() as db, pytest.raises(Conflict, match="snippets render once it has finished"):
        tasks.start_render(db, snippet_id, {})
    assert render_jobs(factory) == 0


def test_unknown_snippet_and_task_are_not_found(factory: sessionmaker[Session]) -> None:
    with factory() as db:
        with pytest.raises(NotFound):
            tasks.start_render(db, 4242, {})
        with pytest.raises(NotFound):
            tasks.get_task(db, "nope")
