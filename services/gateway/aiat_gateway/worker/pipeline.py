"""The session pipeline: download -> transcribe -> analyze -> snippets stored -> Finished."""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from aiat import transcripts
from aiat.analyzer.v1 import analyzer_pb2
from aiat.jobs.v1 import jobs_pb2
from aiat.media import MediaInfo, UnreadableMedia, probe_isolated
from aiat.store import MediaStore
from aiat.transcriber.v1 import transcriber_pb2
from aiat_gateway import lifecycle
from aiat_gateway.db.models import LectureSession, Status
from aiat_gateway.drive import DriveDownloader, DriveError
from aiat_gateway.lifecycle import Transition
from aiat_gateway.plans import PlanEntry
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.slides import SlideEntry, clean, slides_dir, thumbnail_name
from aiat_gateway.worker.clients import ServiceClients
from aiat_gateway.worker.errors import StepError, Superseded
from aiat_gateway.worker.progress import ProgressFn, progress_writer
from aiat_gateway.worker.state import WorkerDb

log = logging.getLogger(__name__)


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
    content_sha256: str | None = None  # set for a file uploaded to the gateway: no Drive link to fetch
    source_filename: str | None = None
    vocabulary: list[str] | None = None
    requested_language: str | None = None
    transcriber_model: str | None = None
    keep_plan: bool = False  # a re-transcription that keeps the plan: no analysis


class SessionPipeline:
    """Drives one session job; each step is skipped when its output already exists (redelivery)."""

    def __init__(
        self,
        db: WorkerDb,
        store: MediaStore,
        clients: ServiceClients,
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
                s.media_path, s.media_duration, s.transcript_path, s.content_sha256, s.source_filename,
                list(s.vocabulary or []), s.requested_language, s.transcriber_model, s.keep_plan,
            )  # fmt: skip

        return await self.db.run(_read)

    def is_current(self, snap: SessionSnapshot | None, job: jobs_pb2.SessionJob) -> bool:
        """False for a job superseded by a re-drive, or a session already settled or deleted."""
        return snap is not None and snap.job_id == job.job_id and snap.job_status in lifecycle.ACTIVE

    async def run(self, job: jobs_pb2.SessionJob, attempt: int) -> None:
        """Run the remaining steps; StepError(permanent=False) asks the consumer to retry later."""
        snap = await self.snapshot(job.session_id)
        if snap is None or not self.is_current(snap, job):
            log.info("session %s: job %s is stale or settled; skipping", job.session_id, job.job_id)
            return
        if snap.id in self._in_flight:
            log.info("session %s is already being processed here; dropping the duplicate job", snap.id)
            return
        self._in_flight.add(snap.id)
        try:
            await self._run_steps(snap, attempt)
        except Superseded as exc:
            log.info("session %s: job %s stopped: %s", snap.id, snap.job_id, exc)
        finally:
            self._in_flight.discard(snap.id)

    async def _run_steps(self, snap: SessionSnapshot, attempt: int) -> None:
        try:
            # The media is needed only to make the transcript; analysis reads the transcript alone.
            if not self._exists(snap.transcript_path):
                self._missing(snap, "transcript", lifecycle.START_TRANSCRIBING_FROM)
                if not self._exists(snap.media_path):  # never downloaded, or lost since: (re-)download
                    if snap.content_sha256:
                        await self.adopt_upload(snap, attempt)
                    else:
                        await self.download(snap, attempt)
                await self.transcribe(snap, attempt)
            if snap.keep_plan:
                await self.finish_keeping_plan(snap)
            else:
                await self.analyze(snap, attempt)
        except StepError as exc:
            if not exc.permanent:
                raise
            await self.fail(snap.id, str(exc), snap.job_id)

    @staticmethod
    def _missing(snap: SessionSnapshot, what: str, redo_from: frozenset[Status]) -> None:
        # A status never goes back: an output lost after its step (deleted on disk) fails the job.
        if snap.job_status not in redo_from:
            raise StepError(f"The {what} of this session is missing; retry the session", permanent=True)

    async def fail(self, session_id: int, message: str, job_id: str) -> None:
        """Settle the session as Failed with its error, unless a newer job owns it or it already settled."""
        if (await self.db.transition(lifecycle.fail, session_id, job_id, message)).applied:
            log.warning("session %s failed: %s", session_id, message)

    @staticmethod
    def _enter(transition: Transition, what: str) -> None:
        if not transition.applied:
            raise Superseded(f"could not start {what}: the session moved on or a newer job owns it")

    def _exists(self, rel: str | None) -> bool:
        return bool(rel) and self.store.resolve(rel or "").is_file()

    def _progress(self, snap: SessionSnapshot, status: Status) -> ProgressFn:
        async def write(fraction: float) -> None:
            await self.db.run(lifecycle.session_progress, snap.id, snap.job_id, status, fraction)

        return progress_writer(write)

    async def download(self, snap: SessionSnapshot, attempt: int) -> None:
        """Download the Drive file into the session's directory and check FFmpeg can read it."""
        started = await self.db.transition(lifecycle.start_download, snap.id, snap.job_id, attempt)
        self._enter(started, "the download")
        # A fixed directory, emptied first: a download completed by an attempt that died before
        # recording it is replaced, not kept beside the new one.
        dest = self.store.resolve(f"{self.store.session_dir(snap.id)}/source")
        await asyncio.to_thread(shutil.rmtree, dest, True)
        try:
            result = await self.downloader.download(
                snap.drive_link, dest, progress=self._progress(snap, Status.DOWNLOADING)
            )
        except DriveError as exc:
            # Network failures and Drive's explained refusals are retried; what the user must fix is not.
            raise StepError(f"Download failed: {exc}", permanent=not exc.transient) from exc
        await self._accept(snap, result.path, result.filename)

    async def adopt_upload(self, snap: SessionSnapshot, attempt: int) -> None:
        """The download step of an uploaded file: it is already in the session's directory; check and record it."""
        started = await self.db.transition(lifecycle.start_download, snap.id, snap.job_id, attempt)
        self._enter(started, "the download")
        rel = f"{self.store.session_dir(snap.id)}/source/{snap.source_filename or ''}"
        path = self.store.resolve(rel)
        if not snap.source_filename or not await asyncio.to_thread(path.is_file):
            # There is no link to fetch it from again: only the person who has the file can.
            raise StepError(
                "The uploaded file of this session is missing from the media store; upload it again",
                permanent=True,
            )
        await self._accept(snap, path, snap.source_filename)

    async def _accept(self, snap: SessionSnapshot, path: Path, filename: str | None) -> None:
        """Probe the session's media under the limits and record it; StepError when it is refused."""
        try:
            info = await asyncio.to_thread(probe_isolated, path, self.settings.media_probe_timeout_seconds)
            refusal = self.refusal(info)
        except UnreadableMedia as exc:
            refusal = f"The downloaded file is not a readable video: {exc}"
        if refusal is not None:
            await asyncio.to_thread(path.unlink, True)
            raise StepError(refusal, permanent=True)
        snap.media_path = self.store.relative(path)
        snap.media_duration = info.duration
        recorded = await self.db.run(
            lifecycle.record_media, snap.id, snap.job_id, snap.media_path, info.duration, filename
        )
        if not recorded:
            raise Superseded("the download finished after the session moved on")

    def refusal(self, info: MediaInfo) -> str | None:
        """Why the probed media cannot be processed (no audio, over a limit), or None."""
        s = self.settings
        if not info.has_audio:
            return "The downloaded file has no audio track to transcribe"
        if info.duration > s.media_max_duration_seconds:
            return (
                f"The video is too long: {_span(info.duration)}, the limit is "
                f"{_span(s.media_max_duration_seconds)}"
            )
        if info.width > s.media_max_width or info.height > s.media_max_height:
            return (
                f"The video resolution {info.width}x{info.height} is over the limit of "
                f"{s.media_max_width}x{s.media_max_height}"
            )
        return None

    async def transcribe(self, snap: SessionSnapshot, attempt: int) -> None:
        """Transcribe the media and store the transcript JSON."""
        started = await self.db.transition(lifecycle.start_transcribing, snap.id, snap.job_id, attempt)
        self._enter(started, "transcribing")
        request = transcribe_request(snap)
        transcript = await self.clients.transcribe(
            request, self.settings.transcribe_timeout_seconds, self._progress(snap, Status.TRANSCRIBING)
        )
        rel = f"{self.store.session_dir(snap.id)}/transcript.json"
        await asyncio.to_thread(self.store.write_bytes_atomic, rel, transcripts.dumps(transcript))
        snap.transcript_path = rel
        language = transcript.language or None
        if not await self.db.run(lifecycle.record_transcript, snap.id, snap.job_id, rel, language):
            raise Superseded("the transcript was made after the session moved on")

    async def finish_keeping_plan(self, snap: SessionSnapshot) -> None:
        """Finish a re-transcription that keeps the session's plan."""
        finished = await self.db.transition(lifecycle.finish_keeping_plan, snap.id, snap.job_id)
        if finished.applied:
            log.info("session %s re-transcribed; plan kept", snap.id)

    async def analyze(self, snap: SessionSnapshot, attempt: int) -> None:
        """Ask the analyzer for a plan, then store it and finish the session in one transaction."""
        started = await self.db.transition(lifecycle.start_analyzing, snap.id, snap.job_id, attempt)
        self._enter(started, "the analysis")
        raw = await asyncio.to_thread(self.store.resolve(snap.transcript_path or "").read_bytes)
        transcript = transcripts.loads(raw)
        request = analyzer_pb2.AnalyzeRequest(
            transcript=transcript,
            title=snap.name,
            module=snap.module or "",
            media_path=snap.media_path or "",  # slides, where the video has them
            slides_dir=slides_dir(snap.id),
        )
        plan = await self.clients.analyze(
            request, self.settings.analyze_timeout_seconds, self._progress(snap, Status.ANALYZING)
        )
        duration = snap.media_duration or transcript.duration
        entries = plan_entries(plan, duration)[: self.settings.max_plan_snippets]
        slides = slide_entries(plan, snap.id, duration)
        finished = await self.db.transition(
            lifecycle.finish, snap.id, snap.job_id, entries, plan.engine, slides
        )
        if not finished.applied:
            log.info("session %s: another delivery already finished it", snap.id)
            return
        log.info("session %s finished with %d snippets and %d slides", snap.id, len(entries), len(slides))


def transcribe_request(snap: SessionSnapshot) -> transcriber_pb2.TranscribeRequest:
    """The transcriber request for a session: its media, vocabulary, language and model."""
    language = snap.requested_language or ""
    model = snap.transcriber_model or ""
    if language == "auto":  # detection needs a multilingual model
        language, model = "", model or "multilingual"
    return transcriber_pb2.TranscribeRequest(
        media_path=snap.media_path or "", language=language, model=model, vocabulary=snap.vocabulary or []
    )


def _span(seconds: float) -> str:
    """A duration for a message: hours from one hour up, else seconds."""
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"


def plan_entries(plan: analyzer_pb2.Plan, duration: float | None) -> list[PlanEntry]:
    """The analyzer's snippets as plan entries, clamped to the media and dropping degenerate ones."""
    entries: list[PlanEntry] = []
    for s in sorted(plan.snippets, key=lambda x: x.start):
        start = max(0.0, s.start)
        end = min(s.end, duration) if duration else s.end
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start or not s.name.strip():
            continue
        advisories = tuple(_advisory(a) for a in s.advisories[:10])
        entries.append(
            PlanEntry(
                s.name.strip()[:300], start, end, s.summary, float(s.score), s.reason or None, advisories
            )
        )
    return entries


def slide_entries(plan: analyzer_pb2.Plan, session_id: int, duration: float | None) -> list[SlideEntry]:
    """The plan's slides to store: inside the media, thumbnails only from this session's slides directory."""
    given = [SlideEntry(s.start, s.title, thumbnail_name(session_id, s.thumbnail)) for s in plan.slides]
    return clean(given, duration)


def _advisory(a: analyzer_pb2.Advisory) -> dict[str, object]:
    """An analyzer advisory as stored with its snippet (a fix only where the analyzer gave one)."""
    out: dict[str, object] = {"kind": a.kind[:40], "message": a.message[:300]}
    for key in ("suggested_start", "suggested_end"):
        if a.HasField(key) and math.isfinite(getattr(a, key)):
            out[key] = getattr(a, key)
    return out
