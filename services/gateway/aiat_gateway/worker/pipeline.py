"""The session pipeline: download -> transcribe -> analyze -> snippets stored -> Finished."""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import time
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from aiat import transcripts
from aiat.analyzer.v1 import analyzer_pb2
from aiat.common.v1 import transcript_pb2
from aiat.jobs.v1 import jobs_pb2
from aiat.media import UnreadableMedia, probe
from aiat.store import MediaStore
from aiat.transcriber.v1 import transcriber_pb2
from aiat_gateway.db.models import LectureSession, Status, utcnow
from aiat_gateway.drive.download import DriveDownloader, DriveError
from aiat_gateway.sessions import PlanItem, replace_plan
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.worker.clients import EngineClients, StepError
from aiat_gateway.worker.state import WorkerDb

log = logging.getLogger(__name__)

# Drive failures worth retrying with backoff; the rest (not public, quota, not a video...) settle as Failed.
TRANSIENT_DRIVE_ERRORS = frozenset({"network", "unavailable"})


@dataclass
class SessionSnapshot:
    """What the pipeline reads of a session at the start of a job."""

    id: int
    name: str
    module: str | None
    drive_link: str
    job_id: str
    job_status: str
    media_path: str | None
    media_duration: float | None
    transcript_path: str | None


class ProgressThrottle:
    """Writes progress to the DB at most every `interval` seconds."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._last = 0.0

    def due(self) -> bool:
        """True when enough time has passed since the last write."""
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False


class SessionPipeline:
    """Drives one session job; each step is skipped when its output already exists (redelivery)."""

    def __init__(
        self,
        db: WorkerDb,
        store: MediaStore,
        clients: EngineClients,
        downloader: DriveDownloader,
        settings: GatewaySettings,
    ) -> None:
        self.db = db
        self.store = store
        self.clients = clients
        self.downloader = downloader
        self.settings = settings
        self._in_flight: set[int] = set()

    async def snapshot(self, session_id: int) -> SessionSnapshot | None:
        """Current state of the session, or None when it was deleted."""

        def _read(db: Session) -> SessionSnapshot | None:
            s = db.get(LectureSession, session_id)
            if s is None:
                return None
            return SessionSnapshot(
                s.id, s.name, s.module, s.drive_link, s.job_id, s.job_status,
                s.media_path, s.media_duration, s.transcript_path,
            )  # fmt: skip

        return await self.db.run(_read)

    def is_current(self, snap: SessionSnapshot | None, job: jobs_pb2.SessionJob) -> bool:
        """False for a job superseded by a re-drive, or a session already settled or deleted."""
        return snap is not None and snap.job_id == job.job_id and snap.job_status not in Status.TERMINAL

    async def run(self, job: jobs_pb2.SessionJob, attempt: int) -> None:
        """Run the remaining steps; StepError(permanent=False) asks the consumer to retry later."""
        snap = await self.snapshot(job.session_id)
        if not self.is_current(snap, job):
            log.info("session %s: job %s is stale or settled; skipping", job.session_id, job.job_id)
            return
        assert snap is not None
        if snap.id in self._in_flight:
            log.info("session %s is already being processed here; dropping the duplicate job", snap.id)
            return
        self._in_flight.add(snap.id)
        try:
            await self._run_steps(snap, attempt)
        finally:
            self._in_flight.discard(snap.id)

    async def _run_steps(self, snap: SessionSnapshot, attempt: int) -> None:
        await self.db.update_session(snap.id, attempts=attempt)
        try:
            if not self._exists(snap.media_path):
                await self.download(snap)
            if not self._exists(snap.transcript_path):
                await self.transcribe(snap)
            await self.analyze(snap)
        except StepError as exc:
            if not exc.permanent:
                raise
            await self.fail(snap.id, str(exc), snap.job_id)

    async def fail(self, session_id: int, message: str, job_id: str) -> None:
        """Settle the session as Failed with its error, unless a newer job owns it or it already settled."""

        def _fail(db: Session) -> bool:
            result = db.execute(
                update(LectureSession)
                .where(
                    LectureSession.id == session_id,
                    LectureSession.job_id == job_id,
                    LectureSession.job_status.not_in(Status.TERMINAL),
                )
                .values(
                    job_status=Status.FAILED,
                    error_message=message,
                    progress=None,
                    finished_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

        if await self.db.run(_fail):
            log.warning("session %s failed: %s", session_id, message)
            await self.db.update_session(session_id, job_status=Status.FAILED)

    def _exists(self, rel: str | None) -> bool:
        return bool(rel) and self.store.resolve(rel or "").is_file()

    async def download(self, snap: SessionSnapshot) -> None:
        """Download the Drive file into the session's directory and check FFmpeg can read it."""
        await self.db.update_session(snap.id, job_status=Status.DOWNLOADING, progress=0.0, error_message=None)
        throttle = ProgressThrottle()

        async def on_bytes(done: int, total: int | None) -> None:
            if total and throttle.due():
                await self.db.update_session(snap.id, progress=round(done / total, 4))

        # A fixed directory, emptied first: a download completed by an attempt that died before
        # recording it is replaced, not kept beside the new one.
        dest = self.store.resolve(f"{self.store.session_dir(snap.id)}/source")
        await asyncio.to_thread(shutil.rmtree, dest, True)
        try:
            result = await self.downloader.download(snap.drive_link, dest, progress=on_bytes)
        except DriveError as exc:
            raise StepError(
                f"Download failed: {exc}", permanent=exc.kind not in TRANSIENT_DRIVE_ERRORS
            ) from exc
        try:
            info = await asyncio.to_thread(probe, result.path)
        except UnreadableMedia as exc:
            result.path.unlink(missing_ok=True)
            raise StepError(f"The downloaded file is not a readable video: {exc}", permanent=True) from exc
        if not info.has_audio:
            result.path.unlink(missing_ok=True)
            raise StepError("The downloaded file has no audio track to transcribe", permanent=True)
        snap.media_path = self.store.relative(result.path)
        snap.media_duration = info.duration
        await self.db.update_session(
            snap.id, media_path=snap.media_path, media_duration=info.duration, source_filename=result.filename
        )

    async def transcribe(self, snap: SessionSnapshot) -> None:
        """Transcribe the media and store the transcript JSON."""
        await self.db.update_session(snap.id, job_status=Status.TRANSCRIBING, progress=0.0)
        throttle = ProgressThrottle()

        async def on_progress(p: transcript_pb2.Progress) -> None:
            if p.total > 0 and throttle.due():
                await self.db.update_session(snap.id, progress=round(min(p.done / p.total, 1.0), 4))

        request = transcriber_pb2.TranscribeRequest(media_path=snap.media_path or "")
        transcript = await self.clients.transcribe(
            request, self.settings.transcribe_timeout_seconds, on_progress
        )
        rel = f"{self.store.session_dir(snap.id)}/transcript.json"
        await asyncio.to_thread(self.store.write_bytes_atomic, rel, transcripts.dumps(transcript))
        snap.transcript_path = rel
        await self.db.update_session(snap.id, transcript_path=rel, language=transcript.language or None)

    async def analyze(self, snap: SessionSnapshot) -> None:
        """Ask the analyzer for a plan, then store it and finish the session in one transaction."""
        await self.db.update_session(snap.id, job_status=Status.ANALYZING, progress=0.0)
        raw = await asyncio.to_thread(self.store.resolve(snap.transcript_path or "").read_bytes)
        transcript = transcripts.loads(raw)
        throttle = ProgressThrottle()

        async def on_progress(p: transcript_pb2.Progress) -> None:
            if p.total > 0 and throttle.due():
                await self.db.update_session(snap.id, progress=round(min(p.done / p.total, 1.0), 4))

        request = analyzer_pb2.AnalyzeRequest(
            transcript=transcript, title=snap.name, module=snap.module or ""
        )
        plan = await self.clients.analyze(request, self.settings.analyze_timeout_seconds, on_progress)
        duration = snap.media_duration or transcript.duration
        items = plan_items(plan, duration)[: self.settings.max_plan_snippets]

        def _finish(db: Session) -> bool:
            # The conditional UPDATE takes the row's write lock first, so of two deliveries racing
            # here (two replicas, or a duplicate) exactly one stores the plan.
            claimed = db.execute(
                update(LectureSession)
                .where(
                    LectureSession.id == snap.id,
                    LectureSession.job_id == snap.job_id,
                    LectureSession.job_status.not_in(Status.TERMINAL),
                )
                .values(
                    job_status=Status.FINISHED,
                    progress=1.0,
                    error_message=None,
                    analyzer_engine=plan.engine or None,
                    finished_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            s = db.get(LectureSession, snap.id, populate_existing=True)
            assert s is not None
            replace_plan(db, s, items, origin="analyzer")
            return True

        if not await self.db.run(_finish):
            log.info("session %s: another delivery already finished it", snap.id)
            return
        await self.db.update_session(snap.id, job_status=Status.FINISHED)
        log.info("session %s finished with %d snippets", snap.id, len(items))


def plan_items(plan: analyzer_pb2.Plan, duration: float | None) -> list[PlanItem]:
    """The analyzer's snippets as plan items, clamped to the media and dropping degenerate ones."""
    items: list[PlanItem] = []
    for s in sorted(plan.snippets, key=lambda x: x.start):
        start = max(0.0, s.start)
        end = min(s.end, duration) if duration else s.end
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start or not s.name.strip():
            continue
        items.append(PlanItem(s.name.strip()[:300], start, end, s.summary, float(s.score), s.reason or None))
    return items
