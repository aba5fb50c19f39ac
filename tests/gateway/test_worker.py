"""The worker against a real NATS server and real DBs: retries, poison messages, redelivery, re-drive."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import nats
import pytest
from sqlalchemy import func, select, update

from aiat import transcripts
from aiat.analyzer.v1 import analyzer_pb2
from aiat.common.v1 import transcript_pb2
from aiat.grpc_service import GrpcApp
from aiat.jobs.v1 import jobs_pb2
from aiat.nats_server import NatsServer
from aiat.store import MediaStore
from aiat.transcriber.v1 import transcriber_pb2, transcriber_pb2_grpc
from aiat_analyzer.factory import build_engine
from aiat_analyzer.server import create_app
from aiat_analyzer.settings import AnalyzerSettings
from aiat_gateway import outbox
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.models import LectureSession, RenderTask, Snippet, Status, utcnow
from aiat_gateway.nats_client import SESSION_SUBJECT, NatsClient
from aiat_gateway.sessions import create_session
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.worker.clients import ServiceClients
from aiat_gateway.worker.main import Worker
from aiat_gateway.worker.reconciler import sweep_stale
from tests.fakes.fake_drive import FakeDrive
from tests.fixtures.media import counter_video, video_without_audio
from tests.gateway import seed
from tests.gateway.conftest import make_settings


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A NATS server of this test's own."""
    with NatsServer(tmp_path / "nats") as server:
        yield server


async def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll until predicate() holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


class RunningWorker:
    """A Worker running as a task in the test's event loop."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.worker = Worker(settings)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Worker:
        self.task = asyncio.create_task(self.worker.run(self.stop))
        return self.worker

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)


def session_row(settings: GatewaySettings, session_id: int) -> LectureSession:
    """The session as stored now."""
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory() as db:
        row = db.get(LectureSession, session_id)
        assert row is not None
        return row


async def submit(settings: GatewaySettings, n: int) -> int:
    """Create a session and publish its job, as the API does."""
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory() as db:
        session, row = create_session(db, f"L{n}", None, seed.LINK.format(seed.file_id(n)), seed.file_id(n))
    client = NatsClient(settings.nats_url, settings.jobs_stream)
    await client.connect(wait=10)
    await outbox.flush(factory, client.js, ids=[row])
    await client.close()
    return session.id


def fast(settings: GatewaySettings) -> GatewaySettings:
    """Short backoff and few attempts, so retry paths finish in seconds."""
    return settings.model_copy(
        update={
            "job_backoff_seconds": 0.2,
            "job_backoff_max_seconds": 0.5,
            "job_max_deliver": 3,
            "service_ready_wait_seconds": 0.5,
            "reconcile_interval_seconds": 0.5,
        }
    )


async def test_unavailable_service_is_retried_with_backoff_then_failed(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    video = counter_video(tmp_path / "v.mp4", 2.0)
    with FakeDrive() as drive:
        settings = fast(make_settings(tmp_path, database_url, nats_server.url, drive_endpoint=drive.base_url))
        drive.add_file(seed.file_id(1), video, filename="v.mp4")
        session_id = await submit(settings, 1)
        async with RunningWorker(settings):
            await wait_for(lambda: session_row(settings, session_id).job_status == Status.FAILED)
        row = session_row(settings, session_id)
        assert "transcriber is not available" in (row.error_message or "")
        assert "gave up after 3 attempts" in (row.error_message or "")
        assert row.attempts == 3
        # The download happened once: redeliveries resumed after it.
        assert len(drive.requests_for("/uc")) == 1
        assert row.media_path and MediaStore(settings.media_root).resolve(row.media_path).is_file()


async def test_permanent_failure_is_not_retried(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    with FakeDrive() as drive:
        settings = fast(make_settings(tmp_path, database_url, nats_server.url, drive_endpoint=drive.base_url))
        drive.add_html(seed.file_id(2), "<html><body>Sign up for our newsletter</body></html>")
        session_id = await submit(settings, 2)
        async with RunningWorker(settings):
            await wait_for(lambda: session_row(settings, session_id).job_status == Status.FAILED)
        row = session_row(settings, session_id)
        assert row.attempts == 1
        assert (row.error_message or "").startswith("Download failed:")


async def test_poison_message_is_terminated(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    settings = fast(make_settings(tmp_path, database_url, nats_server.url))
    async with RunningWorker(settings) as worker:
        await wait_for(worker.nats.ready.is_set)
        await asyncio.sleep(0.5)  # let the consumer subscribe
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.publish(SESSION_SUBJECT, b"\xff\xfe definitely not protobuf")

        async def pending() -> int:
            info = await js.consumer_info(settings.jobs_stream, "sessions")
            return int(info.num_pending + info.num_ack_pending)

        for _ in range(100):
            if await pending() == 0:
                break
            await asyncio.sleep(0.1)
        assert await pending() == 0
        assert (await js.stream_info(settings.jobs_stream)).state.messages == 0
        await nc.close()


async def analyze_directly(port: int, transcript: transcript_pb2.Transcript) -> analyzer_pb2.Plan:
    """The plan the analyzer gives for a transcript, asked once."""
    clients = ServiceClients("127.0.0.1:1", f"127.0.0.1:{port}", "127.0.0.1:1")
    try:
        return await clients.analyze(analyzer_pb2.AnalyzeRequest(transcript=transcript), 30)
    finally:
        await clients.close()


async def test_redelivered_job_resumes_without_duplicate_snippets(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    analyzer_settings = AnalyzerSettings.model_validate(
        {"engine": "lexical", "min_seconds": 5, "max_seconds": 30, "port": 0}
    )
    analyzer_engine = build_engine(analyzer_settings)
    analyzer_engine.load()  # lexical: nothing to open, but the servicer answers UNAVAILABLE before load()
    app = create_app(analyzer_settings, analyzer_engine)
    port = await app.start()
    await app.set_serving(True)
    try:
        # The transcriber address is closed: a resumed job must not transcribe again.
        settings = fast(
            make_settings(tmp_path, database_url, nats_server.url, analyzer_addr=f"127.0.0.1:{port}")
        )
        session_id = await submit(settings, 3)
        factory = make_session_factory(make_engine(settings.sqlalchemy_url))
        store = MediaStore(settings.media_root)
        transcript = seed.sample_transcript(60.0)
        with factory() as db:  # as if a worker died after transcribing
            row = db.get(LectureSession, session_id)
            assert row is not None
            row.media_path = f"{store.session_dir(session_id)}/lecture.mp4"
            store.write_bytes_atomic(row.media_path, b"media")
            row.transcript_path = f"{store.session_dir(session_id)}/transcript.json"
            store.write_bytes_atomic(row.transcript_path, transcripts.dumps(transcript))
            row.media_duration = 60.0
            row.job_status = Status.ANALYZING
            job = jobs_pb2.SessionJob(session_id=session_id, job_id=row.job_id)
            db.commit()
        nc = await nats.connect(nats_server.url)  # the same job a second time, as a duplicate would be
        await nc.jetstream().publish(
            SESSION_SUBJECT, job.SerializeToString(), headers={"Nats-Msg-Id": "again"}
        )
        await nc.close()
        async with RunningWorker(settings):
            await wait_for(lambda: session_row(settings, session_id).job_status == Status.FINISHED)
            await asyncio.sleep(1.0)  # let the second delivery run too
        with factory() as db:
            count = db.scalar(select(func.count(Snippet.id)).where(Snippet.session_id == session_id))
        plan = await analyze_directly(port, transcript)
        assert count == len(plan.snippets) and count > 0
    finally:
        await app.stop(1)


def test_stale_sessions_are_redriven_then_failed(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, "nats://127.0.0.1:1").model_copy(
        update={"job_stale_seconds": 60, "job_max_deliver": 3}
    )
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory() as db:
        a, _ = create_session(db, "a", None, seed.LINK.format(seed.file_id(10)), seed.file_id(10))
        b, _ = create_session(db, "b", None, seed.LINK.format(seed.file_id(11)), seed.file_id(11))
        c, _ = create_session(db, "c", None, seed.LINK.format(seed.file_id(12)), seed.file_id(12))
        d, _ = create_session(db, "d", None, seed.LINK.format(seed.file_id(13)), seed.file_id(13))
        a.job_status, a.attempts = Status.TRANSCRIBING, 1
        b.job_status, b.attempts = Status.DOWNLOADING, 3
        db.commit()
        old = utcnow() - dt.timedelta(seconds=600)
        db.execute(
            update(LectureSession).where(LectureSession.id.in_([a.id, b.id, d.id])).values(updated_at=old)
        )
        db.commit()
        job_a = a.job_id
    assert len(sweep_stale(factory, settings)) == 1
    with factory() as db:
        ra, rb, rc = (db.get(LectureSession, x.id) for x in (a, b, c))
        assert ra is not None and rb is not None and rc is not None
        assert ra.job_id != job_a and ra.job_status == Status.TRANSCRIBING  # re-driven with a new job
        assert rb.job_status == Status.FAILED and "stopped responding after 3 attempts" in (
            rb.error_message or ""
        )
        assert rc.job_status == Status.PENDING  # fresh: left alone
        rd = db.get(LectureSession, d.id)
        assert rd is not None and rd.job_id == d.job_id  # queued 10 min: still waiting its turn, left alone
    assert sweep_stale(factory, settings) == []  # the re-drive refreshed it


@pytest.mark.parametrize(
    ("scenario", "needle"),
    [
        ("quota", "quota"),
        ("missing", "not found"),
        ("unreadable", "not a readable video"),
        ("silent", "no audio track"),
    ],
)
async def test_download_problems_fail_with_a_clear_message(
    tmp_path: Path, database_url: str, nats_server: NatsServer, scenario: str, needle: str
) -> None:
    with FakeDrive() as drive:
        settings = fast(make_settings(tmp_path, database_url, nats_server.url, drive_endpoint=drive.base_url))
        fid = seed.file_id(20)
        if scenario == "quota":
            drive.add_quota_exceeded(fid)
        elif scenario == "unreadable":
            drive.add_file(fid, b"\x00\x01garbage that is no container at all" * 100, filename="x.mp4")
        elif scenario == "silent":
            silent = await asyncio.to_thread(video_without_audio, tmp_path / "silent.mp4")
            drive.add_file(fid, silent, filename="silent.mp4")
        session_id = await submit(settings, 20)
        async with RunningWorker(settings):
            await wait_for(lambda: session_row(settings, session_id).job_status == Status.FAILED)
        row = session_row(settings, session_id)
        assert needle in (row.error_message or "").lower(), row.error_message
        assert row.attempts == 1
        # Nothing is left under a public name in the session's directory.
        session_dir = MediaStore(settings.media_root).resolve(f"sessions/{session_id}")
        assert not session_dir.exists() or not any(p.is_file() for p in session_dir.rglob("*"))


async def start_render_job(settings: GatewaySettings, snippet_id: int) -> str:
    """Create a render task and publish its job, as POST /snippets/{id}/process does."""
    from aiat_gateway.tasks import start_render

    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory() as db:
        task, row = start_render(db, snippet_id, {})
    client = NatsClient(settings.nats_url, settings.jobs_stream)
    await client.connect(wait=10)
    await outbox.flush(factory, client.js, ids=[row] if row else None)
    await client.close()
    return task.task_id


def task_row(settings: GatewaySettings, task_id: str) -> RenderTask:
    """The render task as stored now."""
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory() as db:
        row = db.get(RenderTask, task_id)
        assert row is not None
        return row


def finished_with_snippet(settings: GatewaySettings, n: int) -> tuple[int, int]:
    """A Finished session with one snippet, stored directly; returns (session id, snippet id)."""
    from aiat_gateway.api.deps import AppState
    from aiat_gateway.plans import PlanEntry

    engine = make_engine(settings.sqlalchemy_url)
    factory = make_session_factory(engine)
    with factory() as db:
        session, _ = create_session(db, f"L{n}", None, seed.LINK.format(seed.file_id(n)), seed.file_id(n))
    state = AppState(settings, engine, factory, MediaStore(settings.media_root), NatsClient("", ""))
    seed.finish(state, session.id, [PlanEntry("Intro", 1.0, 5.0)])
    with factory() as db:
        snippet_id = db.scalar(select(Snippet.id).where(Snippet.session_id == session.id))
    assert snippet_id is not None
    return session.id, snippet_id


async def test_render_with_renderer_down_fails_after_retries(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    settings = fast(make_settings(tmp_path, database_url, nats_server.url))
    _, snippet_id = finished_with_snippet(settings, 30)
    task_id = await start_render_job(settings, snippet_id)
    async with RunningWorker(settings):
        await wait_for(lambda: task_row(settings, task_id).status == "FAILURE")
    task = task_row(settings, task_id)
    assert "renderer is not available" in (task.error or "")
    assert "gave up after 3 attempts" in (task.error or "")


async def test_render_of_a_snippet_removed_by_a_new_plan_fails_clearly(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    from aiat_gateway.plans import PlanEntry
    from aiat_gateway.sessions import update_plan

    settings = fast(make_settings(tmp_path, database_url, nats_server.url))
    session_id, snippet_id = finished_with_snippet(settings, 31)
    task_id = await start_render_job(settings, snippet_id)
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory() as db:  # a person replaces the plan before any worker picked the job up
        update_plan(db, session_id, [PlanEntry("Other", 2.0, 4.0)], max_count=10)
    async with RunningWorker(settings):
        await wait_for(lambda: task_row(settings, task_id).status == "FAILURE")
    assert "removed by a plan update" in (task_row(settings, task_id).error or "")


class HangingTranscriber(transcriber_pb2_grpc.TranscriberServiceServicer):
    """A transcriber that never finishes (transport-level stand-in for a very long lecture)."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    async def Transcribe(self, request: object, context: grpc.aio.ServicerContext) -> AsyncIterator[object]:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        yield transcriber_pb2.TranscribeResponse()  # never reached


async def test_shutdown_hands_unfinished_jobs_back_at_once(
    tmp_path: Path, database_url: str, nats_server: NatsServer
) -> None:
    servicer = HangingTranscriber()
    app = GrpcApp(
        "aiat.transcriber.v1.TranscriberService",
        lambda server: transcriber_pb2_grpc.add_TranscriberServiceServicer_to_server(servicer, server),
    )
    port = await app.start()
    await app.set_serving(True)
    video = await asyncio.to_thread(counter_video, tmp_path / "v.mp4", 2.0)
    try:
        with FakeDrive() as drive:
            drive.add_file(seed.file_id(40), video, filename="v.mp4")
            settings = fast(
                make_settings(
                    tmp_path, database_url, nats_server.url,
                    drive_endpoint=drive.base_url, transcriber_addr=f"127.0.0.1:{port}",
                )
            ).model_copy(update={"worker_grace_seconds": 0.5, "job_ack_wait_seconds": 120})  # fmt: skip
            session_id = await submit(settings, 40)
            async with RunningWorker(settings):
                await wait_for(lambda: session_row(settings, session_id).job_status == Status.TRANSCRIBING)
            await asyncio.wait_for(servicer.cancelled.wait(), 10)  # the remote work was cancelled too
            # A second worker gets the job now, not after the 120 s ack_wait.
            async with RunningWorker(settings):
                await wait_for(lambda: session_row(settings, session_id).attempts == 2, timeout=15)
    finally:
        await app.stop(0)


async def test_render_claim_admits_one_delivery_until_its_worker_falls_silent(
    tmp_path: Path, database_url: str
) -> None:
    from aiat_gateway.worker.render import RenderRunner
    from aiat_gateway.worker.state import WorkerDb

    settings = make_settings(tmp_path, database_url, "nats://127.0.0.1:1")
    _, snippet_id = finished_with_snippet(settings, 50)
    from aiat_gateway.tasks import start_render

    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory() as db:
        task, _ = start_render(db, snippet_id, {})
    runner = RenderRunner(WorkerDb(factory), MediaStore(settings.media_root), None, settings)  # type: ignore[arg-type]
    assert await runner.claim(task.task_id, 1, "first") is True
    assert await runner.claim(task.task_id, 2, "duplicate") is False  # a duplicate while the first is alive
    with factory.begin() as db:
        silent = utcnow() - dt.timedelta(seconds=settings.job_ack_wait_seconds)
        db.execute(update(RenderTask).where(RenderTask.task_id == task.task_id).values(updated_at=silent))
    assert await runner.claim(task.task_id, 3, "takeover") is True  # its worker died: a redelivery takes over
    assert task_row(settings, task.task_id).attempts == 3
