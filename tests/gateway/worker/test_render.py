"""The render runner on a real DB: claims, private files, give-up and the snippet-changed failure."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aiat.jobs.v1 import jobs_pb2
from aiat.renderer.v1 import renderer_pb2
from aiat.store import MediaStore
from aiat_gateway import lifecycle
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.models import RenderTask, Snippet, TaskStatus, utcnow
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.tasks import start_render
from aiat_gateway.worker.errors import StepError
from aiat_gateway.worker.progress import ProgressFn
from aiat_gateway.worker.render import RenderRunner
from aiat_gateway.worker.state import WorkerDb
from tests.gateway.conftest import make_settings
from tests.gateway.test_worker import finished_with_snippet, task_row

Render = Callable[[renderer_pb2.RenderRequest], Awaitable[renderer_pb2.RenderResult]]


class FakeClients:
    """Stands in for ServiceClients: each render call runs the test's next step."""

    def __init__(self, *renders: Render) -> None:
        self.renders = list(renders)

    async def render(
        self, request: renderer_pb2.RenderRequest, timeout: float, on_progress: ProgressFn | None = None
    ) -> renderer_pb2.RenderResult:
        """Run the next scripted render."""
        return await self.renders.pop(0)(request)


class Setup:
    """A Finished session with one snippet and a PENDING render task for it."""

    def __init__(self, tmp_path: Path, database_url: str, n: int) -> None:
        self.settings: GatewaySettings = make_settings(tmp_path, database_url, "nats://127.0.0.1:1")
        _, self.snippet_id = finished_with_snippet(self.settings, n)
        self.factory: sessionmaker[Session] = make_session_factory(make_engine(self.settings.sqlalchemy_url))
        with self.factory() as db:
            task, _ = start_render(db, self.snippet_id, {})
        self.task_id = task.task_id
        self.store = MediaStore(self.settings.media_root)

    def runner(self, *renders: Render) -> RenderRunner:
        """A runner whose renderer runs `renders` in turn."""
        return RenderRunner(WorkerDb(self.factory), self.store, FakeClients(*renders), self.settings)  # type: ignore[arg-type]

    def silence(self) -> None:
        """Make the task's holder look dead, so another delivery may take it over."""
        silent = utcnow() - dt.timedelta(seconds=self.settings.job_ack_wait_seconds)
        with self.factory.begin() as db:
            db.execute(update(RenderTask).where(RenderTask.task_id == self.task_id).values(updated_at=silent))

    def write(self, request: renderer_pb2.RenderRequest, content: bytes) -> None:
        """What the renderer does: write the file at the requested path."""
        path = self.store.resolve(request.output_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def job(task_id: str) -> jobs_pb2.RenderJob:
    return jobs_pb2.RenderJob(task_id=task_id)


async def test_give_up_does_not_fail_a_task_another_delivery_took_over(
    tmp_path: Path, database_url: str
) -> None:
    s = Setup(tmp_path, database_url, 1)

    async def silent_then_error(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
        s.silence()  # delivery A went silent; the reconciler re-drove and C claimed
        with s.factory.begin() as db:
            assert lifecycle.claim_task(db, s.task_id, "claim-c", 2, utcnow()).applied
        raise StepError("renderer is not available", permanent=False)

    runner = s.runner(silent_then_error)
    with pytest.raises(StepError):
        await runner.run(job(s.task_id), 1)
    await runner.give_up(s.task_id, "renderer is not available (gave up after 3 attempts)")
    row = task_row(s.settings, s.task_id)
    assert (row.status, row.claim_id, row.error) == (TaskStatus.STARTED, "claim-c", None)


async def test_give_up_fails_the_task_its_own_delivery_released(tmp_path: Path, database_url: str) -> None:
    s = Setup(tmp_path, database_url, 2)

    async def error(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
        raise StepError("renderer is not available", permanent=False)

    runner = s.runner(error)
    with pytest.raises(StepError):
        await runner.run(job(s.task_id), 3)
    await runner.give_up(s.task_id, "gave up")
    row = task_row(s.settings, s.task_id)
    assert (row.status, row.error) == (TaskStatus.FAILURE, "gave up")


async def test_a_superseded_delivery_leaves_the_current_deliverys_file_alone(
    tmp_path: Path, database_url: str
) -> None:
    s = Setup(tmp_path, database_url, 3)
    a_rendered, a_go, c_rendered, c_go = (asyncio.Event() for _ in range(4))

    async def render_a(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
        s.write(request, b"A")
        a_rendered.set()
        await a_go.wait()
        return renderer_pb2.RenderResult(encoder="fake", duration=4.0)

    async def render_c(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
        s.write(request, b"C")
        c_rendered.set()
        await c_go.wait()
        return renderer_pb2.RenderResult(encoder="fake", duration=4.0)

    runner = s.runner(render_a, render_c)
    delivery_a = asyncio.create_task(runner.run(job(s.task_id), 1))
    await asyncio.wait_for(a_rendered.wait(), 10)
    s.silence()  # A looks dead: a redelivery (C) takes over while A's render is still running
    delivery_c = asyncio.create_task(runner.run(job(s.task_id), 2))
    await asyncio.wait_for(c_rendered.wait(), 10)
    a_go.set()
    await asyncio.wait_for(delivery_a, 10)  # refused: C holds the claim; A drops its own file only
    c_go.set()
    await asyncio.wait_for(delivery_c, 10)
    row = task_row(s.settings, s.task_id)
    assert row.status == TaskStatus.SUCCESS and row.output_path is not None
    assert s.store.resolve(row.output_path).read_bytes() == b"C"
    assert list(s.store.resolve("output").glob("*/snippets/.*")) == []  # no private file left behind


async def test_a_vanished_private_file_leaves_the_task_pending_not_started(
    tmp_path: Path, database_url: str
) -> None:
    s = Setup(tmp_path, database_url, 4)

    async def no_file(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
        return renderer_pb2.RenderResult(encoder="fake", duration=4.0)

    runner = s.runner(no_file)
    with pytest.raises(FileNotFoundError):
        await runner.run(job(s.task_id), 1)
    row = task_row(s.settings, s.task_id)
    assert (row.status, row.claim_id) == (TaskStatus.PENDING, "")  # the redelivery claims it again
    await runner.give_up(s.task_id, "gave up")
    assert task_row(s.settings, s.task_id).status == TaskStatus.FAILURE


async def test_a_snippet_changed_while_rendering_fails_with_no_result_and_full_progress(
    tmp_path: Path, database_url: str
) -> None:
    s = Setup(tmp_path, database_url, 5)

    async def renamed_meanwhile(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
        s.write(request, b"A")
        with s.factory.begin() as db:
            db.execute(update(Snippet).where(Snippet.id == s.snippet_id).values(name="Renamed"))
            db.execute(update(RenderTask).where(RenderTask.task_id == s.task_id).values(progress=0.6))
        return renderer_pb2.RenderResult(encoder="fake", duration=4.0)

    await s.runner(renamed_meanwhile).run(job(s.task_id), 1)
    row = task_row(s.settings, s.task_id)
    assert (row.status, row.error, row.result, row.progress) == (
        TaskStatus.FAILURE,
        "the snippet changed while it was rendering",
        None,
        1.0,
    )


async def test_a_rerun_after_an_outage_around_succeed_renders_instead_of_leaving_started(
    tmp_path: Path, postgres_server_url: str
) -> None:
    """The database goes away after the render (succeed and the release both fail); once back, the rerun of
    the same delivery (as the consumer's outage wait does) must not find its own claim "held by another"."""
    from tests.conftest import _drop_postgres_db, _fresh_postgres_db

    url, name = _fresh_postgres_db(postgres_server_url)
    from aiat_gateway.db.migrate import upgrade

    upgrade(url)
    try:
        s = Setup(tmp_path, url, 7)

        def database(allow: bool) -> None:
            with psycopg.connect(postgres_server_url, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')
                if not allow:  # and end every session on it, as a server stop does
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                    )

        async def render_then_outage(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
            s.write(request, b"first")
            database(False)
            return renderer_pb2.RenderResult(encoder="fake", duration=4.0)

        async def render_again(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
            s.write(request, b"second")
            return renderer_pb2.RenderResult(encoder="fake", duration=4.0)

        runner = s.runner(render_then_outage, render_again)
        with pytest.raises(SQLAlchemyError):
            await runner.run(job(s.task_id), 1)
        database(True)
        assert task_row(s.settings, s.task_id).status == TaskStatus.STARTED  # heartbeats keep this fresh
        await runner.run(job(s.task_id), 1)  # the same delivery, run again once the database is back
        row = task_row(s.settings, s.task_id)
        assert row.status == TaskStatus.SUCCESS and row.output_path is not None
        assert s.store.resolve(row.output_path).read_bytes() == b"second"
    finally:
        _drop_postgres_db(postgres_server_url, name)


async def test_a_rerender_without_captions_takes_the_earlier_srt_away(
    tmp_path: Path, database_url: str
) -> None:
    """The public .srt belongs to the public .mp4: a new render without one leaves none, not the old timings."""
    s = Setup(tmp_path, database_url, 6)

    async def with_srt(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
        s.write(request, b"video with captions")
        srt = s.store.resolve(request.output_path).with_suffix(".srt")
        srt.write_bytes(b"1\n00:00:00,000 --> 00:00:01,000\nold\n")
        return renderer_pb2.RenderResult(encoder="fake", duration=4.0)

    async def without_srt(request: renderer_pb2.RenderRequest) -> renderer_pb2.RenderResult:
        s.write(request, b"video without captions")
        return renderer_pb2.RenderResult(encoder="fake", duration=4.0)

    runner = s.runner(with_srt, without_srt)
    await runner.run(job(s.task_id), 1)
    public = s.store.resolve(task_row(s.settings, s.task_id).output_path or "")
    assert public.with_suffix(".srt").exists()
    with s.factory() as db:
        again, _ = start_render(db, s.snippet_id, {})
    await runner.run(job(again.task_id), 1)
    assert task_row(s.settings, again.task_id).status == TaskStatus.SUCCESS
    assert public.read_bytes() == b"video without captions"
    assert not public.with_suffix(".srt").exists()
