"""Snippet endpoints: details, process, task status, download; and static /output files."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Depends
from fastapi.responses import FileResponse

from aiat_gateway import tasks as logic
from aiat_gateway.api.auth import RATE_LIMITED_RESPONSE, rate_limited
from aiat_gateway.api.background import publish_now
from aiat_gateway.api.deps import Db, RowId, State, TaskId
from aiat_gateway.errors import Conflict, NotFound
from aiat_gateway.naming import is_public_output_name
from aiat_gateway.schemas import FramingOut, ProcessIn, ProcessOut, SnippetOut, TaskOut

router = APIRouter(tags=["snippets"])
output_router = APIRouter(tags=["output"])


@router.get("/snippets/tasks/{task_id}", response_model=TaskOut)
def task_status(task_id: TaskId, db: Db) -> TaskOut:
    """Status of a render task: PENDING, STARTED, SUCCESS or FAILURE."""
    task = logic.get_task(db, task_id)
    return TaskOut(
        task_id=task.task_id,
        status=task.status,
        result=task.result if task.result else task.error,
        error=task.error,
        progress=task.progress,
        snippet_id=task.snippet_id,
        created_at=task.created_at,
        updated_at=task.updated_at,
        framing=FramingOut.model_validate(task.framing) if task.framing else None,
    )


@router.get("/snippets/{snippet_id}", response_model=SnippetOut)
def snippet_details(snippet_id: RowId, db: Db) -> SnippetOut:
    """A snippet; `storage_link` is set once it has been rendered."""
    return SnippetOut.model_validate(logic.get_snippet(db, snippet_id))


@router.post(
    "/snippets/{snippet_id}/process",
    response_model=ProcessOut,
    dependencies=[Depends(rate_limited)],
    responses=RATE_LIMITED_RESPONSE,
)
def process_snippet(
    snippet_id: RowId, db: Db, state: State, background: BackgroundTasks, body: ProcessIn | None = None
) -> ProcessOut:
    """Start rendering the snippet's video; returns the task to poll."""
    options = body.model_dump(mode="json", exclude_none=True) if body else {}
    task, row_id = logic.start_render(db, snippet_id, options)
    if row_id is None:
        return ProcessOut(message="Snippet processing already in progress", task_id=task.task_id)
    background.add_task(publish_now, state, row_id)
    return ProcessOut(message="Snippet processing started", task_id=task.task_id)


@router.head("/snippets/{snippet_id}/download", include_in_schema=False)
@router.get("/snippets/{snippet_id}/download", response_class=FileResponse)
def download_snippet(snippet_id: RowId, db: Db, state: State) -> FileResponse:
    """The rendered mp4 (HTTP Range supported)."""
    snippet = logic.get_snippet(db, snippet_id)
    if not snippet.storage_link:
        raise Conflict(f"snippet {snippet_id} has not been rendered yet; POST /snippets/{snippet_id}/process")
    path = state.store.resolve(f"{state.store.output_dir(snippet.session_id)}/{snippet.storage_link}")
    if not path.is_file():
        raise NotFound(f"the rendered file of snippet {snippet_id} is missing; process it again")
    return FileResponse(path, media_type="video/mp4", filename=snippet.storage_link)


@output_router.head("/output/{session_id}/snippets/{filename}", include_in_schema=False)
@output_router.get("/output/{session_id}/snippets/{filename}", response_class=FileResponse)
def output_file(session_id: RowId, filename: str, state: State) -> FileResponse:
    """Static access to a rendered snippet (or its .srt) by session and file name."""
    if not is_public_output_name(filename):
        raise NotFound("no such file")
    path = state.store.resolve(f"{state.store.output_dir(session_id)}/{filename}")
    if not path.is_file():
        raise NotFound("no such file")
    media_type = "video/mp4" if filename.endswith(".mp4") else "application/x-subrip"
    return FileResponse(path, media_type=media_type)
