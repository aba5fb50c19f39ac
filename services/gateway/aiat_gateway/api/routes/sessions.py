"""Session endpoints: upload, list, status, results, plan, transcript."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from aiat import transcripts
from aiat_gateway import chapters as chapter_rules
from aiat_gateway import sessions as logic
from aiat_gateway import slides as slide_rules
from aiat_gateway.api.auth import RATE_LIMITED_RESPONSE, rate_limited
from aiat_gateway.api.background import publish_now, publish_transition
from aiat_gateway.api.deps import MAX_ID, AppState, Db, RowId, State
from aiat_gateway.api.routes import uploads
from aiat_gateway.db.models import LectureSession
from aiat_gateway.drive import InvalidDriveLink, parse_drive_link
from aiat_gateway.errors import Conflict, Invalid
from aiat_gateway.plans import PlanEntry
from aiat_gateway.schemas import (
    JobStatusOut,
    PlanIn,
    RetranscribeIn,
    SessionOut,
    SessionPatchIn,
    SessionResultsOut,
    SlideOut,
    SnippetOut,
    UploadSessionRequest,
)

router = APIRouter(tags=["sessions"])
SESSION_LIST = TypeAdapter(list[SessionOut])
SESSION_COLUMNS = [name for name in SessionOut.model_fields if name != "snippet_count"]
WORK = [Depends(rate_limited)]
router.include_router(uploads.router)


def session_out(session: LectureSession, count: int | None = None) -> SessionOut:
    """Session body with its snippet count."""
    out = SessionOut.model_validate(session)
    out.snippet_count = len(session.snippets) if count is None else count
    return out


def results_out(db: Session, session: LectureSession) -> SessionResultsOut:
    """Session body with all its snippets and how many slides it has."""
    base = session_out(session).model_dump()
    snippets = [SnippetOut.model_validate(s) for s in session.snippets]
    return SessionResultsOut(**base, snippets=snippets, slide_count=slide_rules.count(db, session.id))


@router.post("/upload-session", response_model=SessionOut, dependencies=WORK, responses=RATE_LIMITED_RESPONSE)
def upload_session(
    body: UploadSessionRequest, db: Db, state: State, background: BackgroundTasks
) -> SessionOut:
    """Create a session for a Google Drive link and start processing it."""
    link = body.drive_link.strip()
    try:
        parsed = parse_drive_link(link)
    except InvalidDriveLink as exc:
        raise Invalid(str(exc)) from exc
    transcription = body.model_dump(include=set(logic.TRANSCRIPTION_COLUMNS), exclude_none=True)
    session, row_id = logic.create_session(db, body.name, body.module, link, parsed.file_id, transcription)
    background.add_task(publish_now, state, row_id)
    return session_out(session, 0)


@router.patch("/sessions/{session_id}", response_model=SessionOut)
def update_session(session_id: RowId, body: SessionPatchIn, db: Db) -> SessionOut:
    """Change the session's vocabulary, language or model (applied by its next transcription)."""
    return session_out(
        logic.update_transcription(db, session_id, body.model_dump(include=body.model_fields_set))
    )


@router.post(
    "/sessions/{session_id}/retranscribe",
    response_model=SessionOut,
    dependencies=WORK,
    responses=RATE_LIMITED_RESPONSE,
)
def retranscribe_session(
    session_id: RowId, db: Db, state: State, background: BackgroundTasks, body: RetranscribeIn | None = None
) -> SessionOut:
    """Transcribe a Finished session again with its current vocabulary, language and model."""
    keep_plan = body.keep_plan if body is not None else False
    session, transition = logic.retranscribe_session(db, session_id, keep_plan)
    background.add_task(publish_transition, state, transition)
    return session_out(session)


@router.post(
    "/sessions/{session_id}/retry",
    response_model=SessionOut,
    dependencies=WORK,
    responses=RATE_LIMITED_RESPONSE,
)
def retry_session(session_id: RowId, db: Db, state: State, background: BackgroundTasks) -> SessionOut:
    """Process a Failed session again (steps already done, such as the download, are kept)."""
    session, transition = logic.retry_session(db, session_id)
    background.add_task(publish_transition, state, transition)
    return session_out(session)


def _session_page(state: AppState, skip: int, limit: int, sort_by: str, order: str, q: str | None) -> bytes:
    """A page of sessions with their snippet counts, as JSON."""
    with state.read_session_factory() as db:
        rows = logic.session_page(db, SESSION_COLUMNS, skip, limit, sort_by, order, q)
    return SESSION_LIST.dump_json(SESSION_LIST.validate_python(rows))


def _job_status(state: AppState, session_id: int) -> bytes:
    """The session's status as JSON."""
    with state.read_session_factory() as db:
        status, progress, error = logic.job_status(db, session_id)
    return JobStatusOut(job_status=status, progress=progress, error_message=error).model_dump_json().encode()


# The two reads clients poll: async routes that do the whole read in one thread-pool hop and serialize once
# (sync dependencies would cost a hop each, and FastAPI would validate the response model again).
@router.get("/sessions", response_model=list[SessionOut])
async def list_sessions(
    state: State,
    skip: Annotated[int, Query(ge=0, le=MAX_ID, description="Records to skip")] = 0,
    limit: Annotated[int, Query(ge=1, description="Maximum records to return")] = 100,
    sort_by: Annotated[str, Query(description=f"One of: {', '.join(logic.SORTABLE)}")] = "created_at",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    q: Annotated[
        str | None, Query(max_length=300, description="Only sessions whose name or module contains this")
    ] = None,
) -> Response:
    """A page of sessions."""
    if limit > state.settings.max_list_limit:
        raise Invalid(f"limit must be at most {state.settings.max_list_limit}")
    query = q.strip() if q else None
    body = await run_in_threadpool(_session_page, state, skip, limit, sort_by, order, query)
    return Response(body, media_type="application/json")


@router.get("/jobs/{session_id}/status", response_model=JobStatusOut)
async def job_status(session_id: RowId, state: State) -> Response:
    """The session's processing status."""
    return Response(await run_in_threadpool(_job_status, state, session_id), media_type="application/json")


@router.get("/sessions/{session_id}/results", response_model=SessionResultsOut)
def session_results(session_id: RowId, db: Db) -> SessionResultsOut:
    """The session with every identified snippet."""
    return results_out(db, logic.get_session(db, session_id))


@router.patch("/sessions/{session_id}/plan", response_model=SessionResultsOut)
def update_plan(session_id: RowId, body: PlanIn, db: Db, state: State) -> SessionResultsOut:
    """Replace the session's snippets with a person's plan."""
    entries = [PlanEntry(name=s.name, start=s.start, end=s.end, summary=s.summary) for s in body.snippets]
    session, old_files = logic.update_plan(
        db, session_id, entries, state.settings.max_plan_snippets, body.base_version
    )
    out_dir = state.store.output_dir(session_id)
    for name in old_files:
        path = state.store.resolve(f"{out_dir}/{name}")
        path.unlink(missing_ok=True)
        path.with_suffix(".srt").unlink(missing_ok=True)
    return results_out(db, session)


@router.get(
    "/sessions/{session_id}/transcript",
    responses={
        200: {
            "content": {"application/json": {}, "application/x-subrip": {}, "text/plain": {}, "text/vtt": {}}
        }
    },
)
def session_transcript(
    session_id: RowId, db: Db, state: State, format: Literal["json", "srt", "vtt", "txt"] = "json"
) -> Response:
    """The session's transcript: JSON segments with words, or SRT / WebVTT / plain text."""
    session = logic.get_session(db, session_id)
    if not session.transcript_path:
        raise Conflict(f"session {session_id} has no transcript yet (status {session.job_status!r})")
    path = state.store.resolve(session.transcript_path)
    if not path.is_file():
        raise Conflict(f"the transcript file of session {session_id} is missing; process the session again")
    transcript = transcripts.loads(path.read_bytes())
    cues = transcripts.cues_from_segments(transcript.segments)
    if format == "srt":
        return PlainTextResponse(transcripts.to_srt(cues), media_type="application/x-subrip")
    if format == "vtt":
        return PlainTextResponse(transcripts.to_vtt(cues), media_type="text/vtt")
    if format == "txt":
        return PlainTextResponse(transcripts.to_text(cues))
    return Response(transcripts.dumps(transcript), media_type="application/json")


@router.get(
    "/sessions/{session_id}/chapters",
    responses={200: {"content": {"application/json": {}, "text/plain": {}, "text/vtt": {}}}},
)
def session_chapters(
    session_id: RowId, db: Db, format: Literal["youtube", "vtt", "json"] = "json"
) -> Response:
    """Chapters covering the whole lecture from 0:00, named from slide titles or the plan: YouTube, WebVTT, JSON."""
    session = logic.get_session(db, session_id)
    if not session.snippets or not session.media_duration:
        raise Conflict(f"session {session_id} has no plan yet (status {session.job_status!r})")
    slides = [(s.start, s.title) for s in slide_rules.stored_slides(db, session_id)]
    items = chapter_rules.chapters(
        [(s.start, s.name) for s in session.snippets], session.media_duration, slides
    )
    if format == "youtube":
        if len(items) < chapter_rules.YOUTUBE_MIN_CHAPTERS:
            raise Conflict(
                f"YouTube needs at least {chapter_rules.YOUTUBE_MIN_CHAPTERS} chapters of 10 s or more; "
                f"this plan gives {len(items)}"
            )
        return PlainTextResponse(chapter_rules.to_youtube(items))
    if format == "vtt":
        return PlainTextResponse(chapter_rules.to_vtt(items), media_type="text/vtt")
    return JSONResponse([{"start": c.start, "end": c.end, "title": c.title} for c in items])


@router.get("/sessions/{session_id}/slides", response_model=list[SlideOut])
def session_slides(session_id: RowId, db: Db) -> list[SlideOut]:
    """The slides the analysis found in the video, in time order (empty for a lecture without slides)."""
    session = logic.get_session(db, session_id)
    rows = slide_rules.stored_slides(db, session_id)
    views = slide_rules.views(session_id, rows, session.media_duration)
    return [SlideOut(start=v.start, end=v.end, title=v.title, thumbnail_url=v.thumbnail_url) for v in views]
