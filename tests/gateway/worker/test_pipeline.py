"""The session pipeline resuming a redelivered job whose earlier outputs were lost on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import update

from aiat import transcripts
from aiat.analyzer.v1 import analyzer_pb2
from aiat.common.v1 import transcript_pb2
from aiat.jobs.v1 import jobs_pb2
from aiat.store import MediaStore
from aiat.transcriber.v1 import transcriber_pb2
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.models import LectureSession, Status
from aiat_gateway.drive.download import DriveDownloader
from aiat_gateway.sessions import create_session
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.slides import stored_slides
from aiat_gateway.worker.pipeline import SessionPipeline
from aiat_gateway.worker.progress import ProgressFn
from aiat_gateway.worker.state import WorkerDb
from tests.fakes.fake_drive import FakeDrive
from tests.fixtures.media import counter_video
from tests.gateway import seed
from tests.gateway.conftest import make_settings


class FakeClients:
    """Stands in for ServiceClients: a canned transcript and a one-snippet plan, counting the calls."""

    def __init__(self) -> None:
        self.transcribed = 0

    async def transcribe(
        self,
        request: transcriber_pb2.TranscribeRequest,
        timeout: float,
        on_progress: ProgressFn | None = None,
    ) -> transcript_pb2.Transcript:
        """The sample transcript."""
        self.transcribed += 1
        return seed.sample_transcript(2.0)

    async def analyze(
        self, request: analyzer_pb2.AnalyzeRequest, timeout: float, on_progress: ProgressFn | None = None
    ) -> analyzer_pb2.Plan:
        """A one-snippet plan."""
        snippet = analyzer_pb2.PlannedSnippet(name="Intro", start=0.5, end=1.5, summary="s", score=0.9)
        return analyzer_pb2.Plan(snippets=[snippet], engine="fake")


def stored_session(settings: GatewaySettings, n: int, status: Status, transcript: bool) -> int:
    """A session mid-job in `status` whose recorded media file is gone; with its transcript or not."""
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    store = MediaStore(settings.media_root)
    with factory.begin() as db:
        session, _ = create_session(db, f"L{n}", None, seed.LINK.format(seed.file_id(n)), seed.file_id(n))
    transcript_rel = f"{store.session_dir(session.id)}/transcript.json"
    if transcript:
        store.write_bytes_atomic(transcript_rel, transcripts.dumps(seed.sample_transcript(2.0)))
    with factory.begin() as db:
        db.execute(
            update(LectureSession)
            .where(LectureSession.id == session.id)
            .values(
                job_status=status,
                media_path=f"{store.session_dir(session.id)}/source/deleted.mp4",
                transcript_path=transcript_rel if transcript else None,
            )
        )
    return session.id


async def run_job(settings: GatewaySettings, session_id: int, clients: FakeClients) -> LectureSession:
    """Run the session's current job through a pipeline; the session as stored afterwards."""
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    downloader = DriveDownloader(
        settings.drive_endpoint, settings.drive_max_bytes, settings.drive_timeout_seconds
    )
    pipeline = SessionPipeline(
        WorkerDb(factory),
        MediaStore(settings.media_root),
        clients,  # type: ignore[arg-type]
        downloader,
        settings,
    )
    with factory() as db:
        row = db.get(LectureSession, session_id)
        assert row is not None
        job = jobs_pb2.SessionJob(session_id=session_id, job_id=row.job_id)
    await pipeline.run(job, 2)
    with factory() as db:
        row = db.get(LectureSession, session_id)
        assert row is not None
        return row


async def test_analysis_needs_only_the_transcript_when_the_media_was_deleted(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, "nats://127.0.0.1:1")
    session_id = stored_session(settings, 1, Status.ANALYZING, transcript=True)
    clients = FakeClients()
    row = await run_job(settings, session_id, clients)
    assert (row.job_status, row.error_message) == (Status.FINISHED, None)
    assert clients.transcribed == 0


async def test_media_lost_before_its_transcript_was_made_is_downloaded_again(
    tmp_path: Path, database_url: str
) -> None:
    video = await asyncio.to_thread(counter_video, tmp_path / "v.mp4", 2.0)
    with FakeDrive() as drive:
        drive.add_file(seed.file_id(2), video, filename="v.mp4")
        settings = make_settings(tmp_path, database_url, "nats://127.0.0.1:1", drive_endpoint=drive.base_url)
        session_id = stored_session(settings, 2, Status.TRANSCRIBING, transcript=False)
        clients = FakeClients()
        row = await run_job(settings, session_id, clients)
    assert (row.job_status, row.error_message) == (Status.FINISHED, None)
    assert row.media_path is not None and row.media_path.endswith("v.mp4")
    assert MediaStore(settings.media_root).resolve(row.media_path).is_file()
    assert clients.transcribed == 1


class SlideClients(FakeClients):
    """The analyzer found slides: one with a thumbnail in this session's slides directory."""

    async def analyze(
        self, request: analyzer_pb2.AnalyzeRequest, timeout: float, on_progress: ProgressFn | None = None
    ) -> analyzer_pb2.Plan:
        """The one-snippet plan with two slides, thumbnails written where the request said."""
        plan = await super().analyze(request, timeout, on_progress)
        thumb = f"{request.slides_dir}/slide-001.jpg"
        plan.slides.extend(
            [analyzer_pb2.Slide(start=0.0, title="Intro", thumbnail=thumb), analyzer_pb2.Slide(start=1.0)]
        )
        return plan


async def test_the_analysis_stores_the_slides_with_the_plan(tmp_path: Path, database_url: str) -> None:
    """Finishing the analysis stores the plan's slides; their thumbnails are named inside output/<id>/slides."""
    settings = make_settings(tmp_path, database_url, "nats://127.0.0.1:1")
    session_id = stored_session(settings, 3, Status.ANALYZING, transcript=True)
    row = await run_job(settings, session_id, SlideClients())
    assert row.job_status == Status.FINISHED
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory() as db:
        got = [(s.start, s.title, s.thumbnail) for s in stored_slides(db, session_id)]
    assert got == [(0.0, "Intro", "slide-001.jpg"), (1.0, "", "")]
