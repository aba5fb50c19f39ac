"""The render step: one snippet through the RendererService into the public output directory."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from aiat import transcripts
from aiat.common.v1 import transcript_pb2
from aiat.jobs.v1 import jobs_pb2
from aiat.renderer.v1 import renderer_pb2
from aiat.store import MediaStore
from aiat_gateway.db.models import LectureSession, RenderTask, Snippet, TaskStatus, utcnow
from aiat_gateway.naming import snippet_filename
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.worker.clients import EngineClients, StepError
from aiat_gateway.worker.pipeline import ProgressThrottle
from aiat_gateway.worker.state import WorkerDb

log = logging.getLogger(__name__)

ASPECTS = {
    "landscape": renderer_pb2.ASPECT_LANDSCAPE,
    "vertical": renderer_pb2.ASPECT_VERTICAL,
    "square": renderer_pb2.ASPECT_SQUARE,
}


@dataclass
class RenderPlan:
    """Everything one render needs, read in one transaction."""

    task_id: str
    session_id: int
    snippet_id: int
    position: int
    name: str
    start: float
    end: float
    module: str
    session_name: str
    media_path: str
    transcript_path: str | None
    options: dict[str, Any]


class RenderRunner:
    """Drives one render job: STARTED -> renderer -> SUCCESS (storage_link set) or FAILURE."""

    def __init__(
        self, db: WorkerDb, store: MediaStore, clients: EngineClients, settings: GatewaySettings
    ) -> None:
        self.db = db
        self.store = store
        self.clients = clients
        self.settings = settings

    async def load(self, task_id: str) -> RenderPlan | str | None:
        """The render plan, a reason to fail the task, or None when there is nothing to do."""

        def _read(db: Session) -> RenderPlan | str | None:
            task = db.get(RenderTask, task_id)
            if task is None or task.status in TaskStatus.TERMINAL:
                return None
            snippet = db.get(Snippet, task.snippet_id) if task.snippet_id else None
            if snippet is None:
                return "the snippet was removed by a plan update before it was rendered"
            session = db.get(LectureSession, snippet.session_id)
            if session is None or not session.media_path:
                return "the session's source video is not available"
            return RenderPlan(
                task_id, session.id, snippet.id, snippet.position, snippet.name, snippet.start, snippet.end,
                session.module or "", session.name, session.media_path, session.transcript_path,
                json.loads(task.options_json or "{}"),
            )  # fmt: skip

        return await self.db.run(_read)

    async def run(self, job: jobs_pb2.RenderJob, attempt: int) -> None:
        """Render the task's snippet; StepError(permanent=False) asks the consumer to retry later."""
        plan = await self.load(job.task_id)
        if plan is None:
            return
        if isinstance(plan, str):
            await self.fail(job.task_id, plan)
            return
        if not await self.claim(plan.task_id, attempt):
            log.info("task %s is being rendered by another delivery; skipping this one", plan.task_id)
            return
        filename = snippet_filename(plan.position, plan.name)
        # Rendered under a private name first; only a render whose snippet is unchanged is renamed
        # to the public name, so a stale render can never overwrite a newer snippet's file.
        output_rel = f"{self.store.output_dir(plan.session_id)}/.{plan.task_id}.mp4"
        throttle = ProgressThrottle()

        async def on_progress(p: transcript_pb2.Progress) -> None:
            if p.total > 0 and throttle.due():
                await self.db.update_task(plan.task_id, progress=round(min(p.done / p.total, 1.0), 4))

        try:
            request = await asyncio.to_thread(self.request, plan, output_rel)
            result = await self.clients.render(request, self.settings.render_timeout_seconds, on_progress)
        except StepError as exc:
            if not exc.permanent:
                # Back to PENDING so the redelivery can claim it again.
                await self.db.update_task(plan.task_id, status=TaskStatus.PENDING)
                raise
            await self.fail(plan.task_id, str(exc))
            return
        except BaseException:
            await self.db.update_task(plan.task_id, status=TaskStatus.PENDING)
            self._discard(output_rel)
            raise
        await self.succeed(plan, filename, output_rel, result)

    async def claim(self, task_id: str, attempt: int) -> bool:
        """PENDING -> STARTED, or take over a STARTED task whose worker fell silent; False if another holds it."""
        silent = utcnow() - dt.timedelta(seconds=self.settings.job_ack_wait_seconds / 2)

        def _claim(db: Session) -> bool:
            result = db.execute(
                update(RenderTask)
                .where(
                    RenderTask.task_id == task_id,
                    (RenderTask.status == TaskStatus.PENDING)
                    | ((RenderTask.status == TaskStatus.STARTED) & (RenderTask.updated_at < silent)),
                )
                .values(status=TaskStatus.STARTED, attempts=attempt, progress=0.0, updated_at=utcnow())
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

        claimed = await self.db.run(_claim)
        if claimed:
            await self.db.update_task(task_id, status=TaskStatus.STARTED)
        return claimed

    def _discard(self, private_rel: str) -> None:
        path = self.store.resolve(private_rel)
        path.unlink(missing_ok=True)
        path.with_suffix(".srt").unlink(missing_ok=True)

    def request(self, plan: RenderPlan, output_rel: str) -> renderer_pb2.RenderRequest:
        """The RenderRequest for a plan, with the caption words of its time range."""
        opts = plan.options
        aspect = ASPECTS[opts.get("aspect", self.settings.render_aspect)]
        captions = bool(opts.get("captions", self.settings.render_captions))
        intro = bool(opts.get("intro", self.settings.render_intro))
        words: list[transcript_pb2.Word] = []
        if captions and plan.transcript_path:
            transcript = transcripts.loads(self.store.resolve(plan.transcript_path).read_bytes())
            words = [
                w
                for seg in transcript.segments
                for w in seg.words
                if w.end > plan.start and w.start < plan.end
            ]
        return renderer_pb2.RenderRequest(
            source_path=plan.media_path,
            start=plan.start,
            end=plan.end,
            output_path=output_rel,
            title=plan.name,
            module=plan.module,
            session_name=plan.session_name,
            style=renderer_pb2.RenderStyle(
                aspect=aspect,
                intro=renderer_pb2.Intro(enabled=intro),
                captions=renderer_pb2.Captions(enabled=captions, highlight_words=True, write_srt=captions),
            ),
            words=words,
        )

    async def succeed(
        self, plan: RenderPlan, filename: str, output_rel: str, result: renderer_pb2.RenderResult
    ) -> None:
        """Record the file on the snippet, unless the plan changed meanwhile (then drop the file)."""

        def _commit(db: Session) -> bool:
            snippet = db.get(Snippet, plan.snippet_id)
            task = db.get(RenderTask, plan.task_id)
            if task is None:
                return False
            unchanged = (
                snippet is not None and snippet.position == plan.position and snippet.name == plan.name
            )
            if snippet is None or not unchanged:
                task.status, task.error = TaskStatus.FAILURE, "the snippet changed while it was rendering"
            else:
                private = self.store.resolve(output_rel)
                public = private.with_name(filename)
                os.replace(private, public)
                if private.with_suffix(".srt").exists():
                    os.replace(private.with_suffix(".srt"), public.with_suffix(".srt"))
                snippet.storage_link = filename
                task.status, task.result, task.error = TaskStatus.SUCCESS, "Processed 1 videos.", None
                task.output_path = self.store.relative(public)
            task.progress = 1.0
            task.finished_at = task.updated_at = utcnow()
            return unchanged

        kept = await self.db.run(_commit)
        if not kept:
            self._discard(output_rel)
        await self.db.update_task(plan.task_id, status=TaskStatus.SUCCESS if kept else TaskStatus.FAILURE)
        log.info("task %s: %s (%s, %.1fs)", plan.task_id, output_rel, result.encoder, result.duration)

    async def fail(self, task_id: str, message: str) -> None:
        """Settle the task as FAILURE with its error."""
        log.warning("render task %s failed: %s", task_id, message)
        await self.db.update_task(
            task_id, status=TaskStatus.FAILURE, error=message, result=message, finished_at=utcnow()
        )
