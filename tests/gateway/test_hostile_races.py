"""Parallel duplicate requests against the real app on SQLite and PostgreSQL: one session, one render task."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from alembic import command
from sqlalchemy import event, func, select, text

from aiat_gateway.db.connection import make_engine
from aiat_gateway.db.migrate import alembic_config
from aiat_gateway.db.models import LectureSession, RenderTask, Snippet
from aiat_gateway.plans import PlanEntry
from tests.gateway import seed
from tests.gateway.conftest import Gateway


@contextmanager
def meet_after(gw: Gateway, marker: str, parties: int) -> Iterator[None]:
    """Hold each request after its SQL containing `marker` until `parties` have run it: the race is real.

    Where PostgreSQL's row lock already serialises the requests, the barrier times out and they go on.
    """
    barrier = threading.Barrier(parties, timeout=2.0)

    def after(conn: Any, cursor: Any, statement: str, *args: object) -> None:
        if marker in statement:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass

    engine = gw.state.db_engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", after)


def test_two_parallel_uploads_of_one_file_make_one_session_and_one_400(gateway: Gateway) -> None:
    file_id = seed.file_id(7)
    links = [f"https://drive.google.com/file/d/{file_id}/view", f"https://drive.google.com/open?id={file_id}"]

    def post(link: str) -> tuple[int, dict[str, Any]]:
        body = {"name": "Lecture", "module": "Physics", "drive_link": link}
        resp = gateway.client.post("/api/v1/upload-session", json=body)
        return resp.status_code, resp.json()

    # Both requests pass the "already exists?" check before either inserts.
    with meet_after(gateway, "sessions.drive_file_id =", 2), ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, links))
    assert sorted(code for code, _ in answers) == [200, 400], answers
    refused = next(body for code, body in answers if code == 400)
    assert refused["detail"].startswith("a session for this drive link already exists")
    with gateway.state.session_factory() as db:
        assert db.scalar(select(func.count()).select_from(LectureSession)) == 1


def test_twenty_parallel_process_requests_make_one_task(gateway: Gateway) -> None:
    resp = gateway.client.post(
        "/api/v1/upload-session",
        json={"name": "L", "module": "M", "drive_link": seed.LINK.format(seed.file_id(8))},
    )
    assert resp.status_code == 200, resp.text
    seed.finish(gateway.state, resp.json()["id"], [PlanEntry("Intro", 0.5, 20.0, "s")])
    with gateway.state.session_factory() as db:
        snippet_id = db.scalars(select(Snippet.id)).one()

    def process(_: int) -> tuple[int, str]:
        answer = gateway.client.post(f"/api/v1/snippets/{snippet_id}/process")
        return answer.status_code, answer.json().get("task_id", answer.text)

    # Ten requests (fewer than the connection pool) find no running task before any of them inserts one;
    # on SQLite nothing else orders them.
    with meet_after(gateway, "FROM render_tasks", 10), ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(process, range(20)))
    assert {code for code, _ in answers} == {200}, answers
    assert len({task for _, task in answers}) == 1
    with gateway.state.session_factory() as db:
        assert db.scalar(select(func.count()).select_from(RenderTask)) == 1


def test_the_migration_keeps_sessions_and_tasks_of_earlier_races(database_url: str) -> None:
    """0003 on a database holding two sessions of one file and two active tasks of one snippet."""
    config = alembic_config(database_url)
    command.downgrade(config, "0002")
    engine = make_engine(database_url)
    now = dt.datetime(2026, 1, 1)
    with engine.begin() as conn:
        for n, link in enumerate(
            ("https://drive.google.com/file/d/X/view", "https://drive.google.com/open?id=X")
        ):
            conn.execute(
                text(
                    "INSERT INTO sessions (name, drive_link, drive_file_id, job_status, job_id, attempts, "
                    "created_at, updated_at) VALUES (:name, :link, 'X', 'Finished', :job, 0, :now, :now)"
                ),
                {"name": f"L{n}", "link": link, "job": f"j{n}", "now": now},
            )
        conn.execute(
            text(
                'INSERT INTO snippets (session_id, position, name, summary, start, "end", start_second, '
                "end_second, origin, created_at) VALUES (1, 0, 'Intro', '', 0, 1, 0, 1, 'analyzer', :now)"
            ),
            {"now": now},
        )
        for n in range(2):
            conn.execute(
                text(
                    "INSERT INTO render_tasks (task_id, snippet_id, session_id, status, claim_id, attempts, "
                    "options_json, created_at, updated_at) VALUES (:id, 1, 1, 'PENDING', '', 0, '{}', :t, :t)"
                ),
                {"id": f"t{n}", "t": now + dt.timedelta(seconds=n)},
            )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id, drive_file_id FROM sessions ORDER BY id")).all()
        tasks = conn.execute(text("SELECT task_id, status FROM render_tasks ORDER BY task_id")).all()
    engine.dispose()
    assert [tuple(r) for r in ids] == [(1, "X"), (2, "X#duplicate-2")]
    assert [tuple(r) for r in tasks] == [("t0", "PENDING"), ("t1", "FAILURE")]
