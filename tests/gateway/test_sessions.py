"""Session logic under the API: create, retry and re-plan, with the transitions they go through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aiat.jobs.v1 import jobs_pb2
from aiat_gateway import sessions
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.models import LectureSession, OutboxMessage, Status
from aiat_gateway.errors import Conflict, Duplicate
from aiat_gateway.plans import PlanEntry
from tests.gateway import seed


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def create(factory: sessionmaker[Session], n: int) -> LectureSession:
    with factory() as db:
        session, _ = sessions.create_session(
            db, f"L{n}", "M", seed.LINK.format(seed.file_id(n)), seed.file_id(n)
        )
        return session


def set_status(factory: sessionmaker[Session], session_id: int, status: Status) -> None:
    with factory.begin() as db:
        row = db.get(LectureSession, session_id)
        assert row is not None
        row.job_status = status


def test_create_commits_a_pending_session_with_its_job(factory: sessionmaker[Session]) -> None:
    session = create(factory, 1)
    with factory() as db:
        (job_row,) = db.scalars(select(OutboxMessage))
    assert session.job_status == Status.PENDING and session.job_id
    assert job_row.msg_id == f"session-{session.job_id}"
    assert jobs_pb2.SessionJob.FromString(job_row.payload) == jobs_pb2.SessionJob(
        session_id=session.id, job_id=session.job_id
    )
    with factory() as db, pytest.raises(Duplicate):  # the same Drive file under another link shape
        sessions.create_session(db, "again", None, "https://drive.google.com/open?id=x", seed.file_id(1))


def test_retry_restarts_only_a_failed_session(factory: sessionmaker[Session]) -> None:
    session = create(factory, 1)
    with factory() as db, pytest.raises(Conflict, match="only a Failed session"):
        sessions.retry_session(db, session.id)
    set_status(factory, session.id, Status.FAILED)
    with factory() as db:
        retried, transition = sessions.retry_session(db, session.id)
    assert retried.job_status == Status.PENDING and retried.job_id != session.job_id
    assert transition.event is not None and transition.event.message == jobs_pb2.SessionEvent(
        session_id=session.id, job_status="Pending"
    )
    with factory() as db:
        job_row = db.get(OutboxMessage, transition.outbox_id)
        assert job_row is not None and job_row.msg_id == f"session-{retried.job_id}"


@pytest.mark.parametrize("status", list(Status))
def test_plan_is_editable_once_settled(factory: sessionmaker[Session], status: Status) -> None:
    session = create(factory, 1)
    set_status(factory, session.id, status)
    plan = [PlanEntry("Intro", 1.0, 2.0)]
    with factory() as db:
        if status in (Status.FINISHED, Status.FAILED):
            updated, old_files = sessions.update_plan(db, session.id, plan, max_count=5)
            assert [s.name for s in updated.snippets] == ["Intro"] and old_files == []
            assert updated.job_status == status  # editing a plan changes no status
        else:
            with pytest.raises(Conflict, match="edit the plan once it has finished"):
                sessions.update_plan(db, session.id, plan, max_count=5)
