"""The render step: one snippet through the RendererService into the public output directory."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from aiat import transcripts
from aiat.aspect import Aspect
from aiat.common.v1 import transcript_pb2
from aiat.framing import Layout
from aiat.jobs.v1 import jobs_pb2
from aiat.renderer.v1 import renderer_pb2
from aiat.store import MediaStore
from aiat_gateway import lifecycle
from aiat_gateway.db.models import LectureSession, RenderTask, Snippet, utcnow
from aiat_gateway.lifecycle import Transition
from aiat_gateway.naming import snippet_filename
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.worker.clients import ServiceClients
from aiat_gateway.worker.errors import StepError
from aiat_gateway.worker.progress import progress_writer
from aiat_gateway.worker.state import WorkerDb

log = logging.getLogger(__name__)


@dataclass
class RenderInputs:
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


@dataclass
class Unrenderable:
    """A task that cannot render, and why (it fails with this message)."""

    claim_id: str
    reason: str


class RenderRunner:
    """Drives one render job: STARTED -> renderer -> SUCCESS (storage_link set) or FAILURE."""

    def __init__(
        self, db: WorkerDb, store: MediaStore, clients: ServiceClients, settings: GatewaySettings
    ) -> None:
        self.db = db
        self.store = store
        self.clients = clients
        self.settings = settings
        # Per task: the claim its last failed delivery here left it under ("" once released back to
        # PENDING), or None when another delivery took it over; give_up fails only under that claim.
        self._held: dict[str, str | None] = {}
        # Per task: the claim a run here took and has not settled or released (a database outage kept it
        # STARTED), and the tasks being run here now.
        self._claims: dict[str, str] = {}
        self._running: Counter[str] = Counter()

    async def load(self, task_id: str) -> RenderInputs | Unrenderable | None:
        """What the render needs, why it cannot run, or None when there is nothing to do."""

        def _read(db: Session) -> RenderInputs | Unrenderable | None:
            task = db.get(RenderTask, task_id)
            if task is None or task.status in lifecycle.TASK_SETTLED:
                return None
            snippet = db.get(Snippet, task.snippet_id) if task.snippet_id else None
            if snippet is None:
                reason = "the snippet was removed by a plan update before it was rendered"
                return Unrenderable(task.claim_id, reason)
            session = db.get(LectureSession, snippet.session_id)
            if session is None or not session.media_path:
                return Unrenderable(task.claim_id, "the session's source video is not available")
            return RenderInputs(
                task_id, session.id, snippet.id, snippet.position, snippet.name,
                snippet.start, snippet.end, session.module or "", session.name, session.media_path,
                session.transcript_path, json.loads(task.options_json or "{}"),
            )  # fmt: skip

        return await self.db.run(_read)

    async def run(self, job: jobs_pb2.RenderJob, attempt: int) -> None:
        """Render the task's snippet; StepError(permanent=False) asks the consumer to retry later."""
        alone = not self._running[job.task_id]
        self._running[job.task_id] += 1
        try:
            await self._run(job, attempt, alone)
        finally:
            self._running[job.task_id] -= 1
            if not self._running[job.task_id]:
                del self._running[job.task_id]

    async def _run(self, job: jobs_pb2.RenderJob, attempt: int, alone: bool) -> None:
        self._held.pop(job.task_id, None)  # a new delivery: what an earlier one left is moot
        stale = self._claims.get(job.task_id) if alone else None
        if stale is not None:
            # A run here lost the database while holding the task, so neither its result nor its release
            # was written, and the heartbeat kept that claim fresh: give it back or no claim succeeds.
            await self._release(job.task_id, stale)
        inputs = await self.load(job.task_id)
        if inputs is None:
            return
        if isinstance(inputs, Unrenderable):
            await self._fail(job.task_id, inputs.claim_id, inputs.reason)
            return
        claim_id = uuid.uuid4().hex
        if not await self.claim(inputs.task_id, attempt, claim_id):
            log.info("task %s is being rendered by another delivery; skipping this one", inputs.task_id)
            return
        self._claims[inputs.task_id] = claim_id
        await asyncio.to_thread(self._sweep, inputs.session_id, inputs.task_id, claim_id)
        filename = snippet_filename(inputs.position, inputs.name)
        # Rendered under a private name first; only a render whose snippet is unchanged is renamed
        # to the public name, so a stale render can never overwrite a newer snippet's file. The name is
        # this delivery's own, so a superseded delivery dropping its file never touches another's.
        output_rel = f"{self.store.output_dir(inputs.session_id)}/.{inputs.task_id}.{claim_id}.mp4"

        async def write_progress(fraction: float) -> None:
            await self.db.run(lifecycle.task_progress, inputs.task_id, claim_id, fraction)

        try:
            request = await asyncio.to_thread(self.request, inputs, output_rel)
            result = await self.clients.render(
                request, self.settings.render_timeout_seconds, progress_writer(write_progress)
            )
        except StepError as exc:
            if not exc.permanent:
                # Back to PENDING so the redelivery can claim it again.
                await self._release(inputs.task_id, claim_id)
                raise
            await self._fail(inputs.task_id, claim_id, str(exc))
            return
        except BaseException:
            await self._release(inputs.task_id, claim_id)
            self._discard(output_rel)
            raise
        try:
            await self.succeed(inputs, claim_id, filename, output_rel, result)
        except BaseException:
            # E.g. the private file vanished before its rename: the task must not stay STARTED.
            await self._release(inputs.task_id, claim_id)
            self._discard(output_rel)
            raise

    async def _release(self, task_id: str, claim_id: str) -> None:
        """STARTED -> PENDING under this delivery's claim; remember what give_up may fail under."""
        released = await self.db.transition(lifecycle.requeue_task, task_id, claim_id)
        self._settled(task_id, claim_id)
        self._held[task_id] = "" if released.applied else None

    def _settled(self, task_id: str, claim_id: str) -> None:
        """The database has this claim's last word: nothing left to give back for it."""
        if self._claims.get(task_id) == claim_id:
            del self._claims[task_id]

    async def claim(self, task_id: str, attempt: int, claim_id: str) -> bool:
        """PENDING -> STARTED, or take over a STARTED task whose worker fell silent; False if another holds it."""
        silent = utcnow() - dt.timedelta(seconds=self.settings.job_ack_wait_seconds / 2)
        claimed = await self.db.transition(lifecycle.claim_task, task_id, claim_id, attempt, silent)
        return claimed.applied

    def _sweep(self, session_id: int, task_id: str, claim_id: str) -> None:
        """Remove the private and partial files of this task's earlier deliveries, never this claim's.

        A renderer killed mid-write leaves its `..<task>.<claim>.mp4.*.part`; once another delivery
        holds the task, no earlier one can commit, so what they left is litter.
        """
        directory = self.store.resolve(self.store.output_dir(session_id))
        if not directory.is_dir():
            return
        for path in directory.iterdir():
            name = path.name.lstrip(".")
            if name.startswith(f"{task_id}.") and not name.startswith(f"{task_id}.{claim_id}."):
                log.info("task %s: removing %s left by an earlier delivery", task_id, path.name)
                path.unlink(missing_ok=True)

    def _discard(self, private_rel: str) -> None:
        path = self.store.resolve(private_rel)
        path.unlink(missing_ok=True)
        path.with_suffix(".srt").unlink(missing_ok=True)

    def request(self, inputs: RenderInputs, output_rel: str) -> renderer_pb2.RenderRequest:
        """The RenderRequest for a snippet, with the caption words of its time range."""
        opts = inputs.options
        aspect = Aspect(opts.get("aspect", self.settings.render_aspect))
        captions = bool(opts.get("captions", self.settings.render_captions))
        intro = bool(opts.get("intro", self.settings.render_intro))
        words: list[transcript_pb2.Word] = []
        if captions and inputs.transcript_path:
            transcript = transcripts.loads(self.store.resolve(inputs.transcript_path).read_bytes())
            words = [
                w
                for seg in transcript.segments
                for w in seg.words
                if w.end > inputs.start and w.start < inputs.end
            ]
        return renderer_pb2.RenderRequest(
            source_path=inputs.media_path,
            start=inputs.start,
            end=inputs.end,
            output_path=output_rel,
            title=inputs.name,
            module=inputs.module,
            session_name=inputs.session_name,
            style=renderer_pb2.RenderStyle(
                aspect=aspect.proto,
                layout=Layout(opts["layout"]).proto if "layout" in opts else None,
                slide=_region(opts.get("slide")),
                speaker=_region(opts.get("speaker")),
                intro=renderer_pb2.Intro(enabled=intro),
                captions=renderer_pb2.Captions(enabled=captions, highlight_words=True, write_srt=captions),
            ),
            words=words,
        )

    async def succeed(
        self,
        inputs: RenderInputs,
        claim_id: str,
        filename: str,
        output_rel: str,
        result: renderer_pb2.RenderResult,
    ) -> None:
        """Record the file on the snippet, unless the plan changed meanwhile (then drop the file)."""

        def _commit(db: Session) -> tuple[Transition, bool]:
            snippet = db.get(Snippet, inputs.snippet_id)
            unchanged = (
                snippet is not None and snippet.position == inputs.position and snippet.name == inputs.name
            )
            if not unchanged:
                message = "the snippet changed while it was rendering"
                # As before: no result, progress 1.0 (the render itself finished).
                failed = lifecycle.fail_task(
                    db, inputs.task_id, claim_id, message, error_as_result=False, progress=1.0
                )
                return failed, False
            private = self.store.resolve(output_rel)
            public = private.with_name(filename)
            done = lifecycle.succeed_task(
                db, inputs.task_id, claim_id, inputs.snippet_id, filename, self.store.relative(public),
                framing(result),
            )  # fmt: skip
            if done.applied:  # a failed rename rolls the transition back with the transaction
                os.replace(private, public)
                if private.with_suffix(".srt").exists():
                    os.replace(private.with_suffix(".srt"), public.with_suffix(".srt"))
                else:  # rendered without captions: an earlier render's .srt no longer matches the video
                    public.with_suffix(".srt").unlink(missing_ok=True)
            return done, done.applied

        transition, kept = await self.db.run(_commit)
        self._settled(inputs.task_id, claim_id)
        await self.db.publish(transition)
        if not kept:
            self._discard(output_rel)
        log.info("task %s: %s (%s, %.1fs)", inputs.task_id, output_rel, result.encoder, result.duration)

    async def _fail(self, task_id: str, claim_id: str, message: str) -> None:
        failed = await self.db.transition(lifecycle.fail_task, task_id, claim_id, message)
        self._settled(task_id, claim_id)
        if failed.applied:
            log.warning("render task %s failed: %s", task_id, message)

    async def give_up(self, task_id: str, message: str) -> None:
        """Settle the task as FAILURE (its retries ran out), only under the claim this delivery left it."""
        # Untracked (the delivery failed before claiming): only an unclaimed task may be failed.
        claim_id = self._held.pop(task_id, "")
        if claim_id is None:
            log.info("task %s: another delivery holds it now; not failing it", task_id)
            return
        await self._fail(task_id, claim_id, message)


def _region(value: object) -> renderer_pb2.Region | None:
    """A region of the task's options ({x, y, w, h}, validated by the API) as the renderer takes it."""
    if not isinstance(value, dict):
        return None
    return renderer_pb2.Region(x=int(value["x"]), y=int(value["y"]), w=int(value["w"]), h=int(value["h"]))


def framing(result: renderer_pb2.RenderResult) -> dict[str, object] | None:
    """The layout and regions (source pixels, None when unset) a render used, as stored and shown by REST."""
    layout = Layout.from_proto(result.layout)
    if layout is None:
        return None  # a renderer from before layouts reports none

    def region(r: renderer_pb2.Region) -> dict[str, int] | None:
        return {"x": r.x, "y": r.y, "w": r.w, "h": r.h} if r.w > 0 and r.h > 0 else None

    return {"layout": layout.value, "slide": region(result.slide), "speaker": region(result.speaker)}
