"""POST /upload-file: a lecture file sent to the gateway, streamed to the media store and processed like a Drive file."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from aiat.media import UnreadableMedia, probe_isolated
from aiat_gateway import sessions as logic
from aiat_gateway.api.auth import RATE_LIMITED_RESPONSE, ErrorOut, rate_limited
from aiat_gateway.api.background import publish_now
from aiat_gateway.api.deps import AppState, State
from aiat_gateway.drive.download import format_size
from aiat_gateway.errors import Invalid
from aiat_gateway.schemas import SessionOut, UploadFileForm
from aiat_gateway.uploads import (
    TOUCH_SECONDS,
    NotMedia,
    UploadReceiver,
    UploadTooLarge,
    boundary_of,
    remove_stale_parts,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["sessions"])
UPLOAD_DIR = "uploads"  # staging area inside the store: the final rename stays on one filesystem
FORM_OVERHEAD = 64 * 1024  # boundaries, part headers and the text fields around the file

UPLOAD_FORM: dict[str, object] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "file"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 300},
                        "module": {"type": "string", "maxLength": 300},
                        "vocabulary": {
                            "type": "string",
                            "description": "Course terms, one per line (or one per repeated part)",
                        },
                        "language": {
                            "type": "string",
                            "description": 'Language code, or "auto" to detect it',
                        },
                        "model": {"type": "string", "enum": ["default", "multilingual"]},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}
UPLOAD_RESPONSES: dict[int | str, dict[str, object]] = {
    **RATE_LIMITED_RESPONSE,
    413: {"model": ErrorOut, "description": "The file is larger than AIAT_UPLOAD_MAX_BYTES"},
    415: {"model": ErrorOut, "description": "Not multipart/form-data, or the file is not an accepted video"},
}


def stale_part_age(state: AppState) -> float:
    """AIAT_UPLOAD_STALE_PART_SECONDS, never below the longest a file being received can stay untouched."""
    settings = state.settings
    quiet = settings.upload_read_timeout_seconds + settings.media_probe_timeout_seconds + TOUCH_SECONDS
    return max(settings.upload_stale_part_seconds, quiet)


async def sweep_staged_uploads(state: AppState) -> None:
    """Remove the staged uploads a crashed gateway left (`*.part` untouched for `stale_part_age`)."""
    try:
        await run_in_threadpool(remove_stale_parts, state.store.resolve(UPLOAD_DIR), stale_part_age(state))
    except OSError:
        log.exception("sweeping staged uploads failed; trying again later")


async def keep_sweeping_staged_uploads(state: AppState) -> None:
    """`sweep_staged_uploads` every quarter of AIAT_UPLOAD_STALE_PART_SECONDS (at most 10 min), until cancelled."""
    while True:
        await asyncio.sleep(min(state.settings.upload_stale_part_seconds / 4, 600.0))
        await sweep_staged_uploads(state)


def upload_limit(state: AppState) -> int:
    """AIAT_UPLOAD_MAX_BYTES, or the Drive download limit when unset."""
    return state.settings.upload_max_bytes or state.settings.drive_max_bytes


@router.post(
    "/upload-file",
    response_model=SessionOut,
    dependencies=[Depends(rate_limited)],
    responses=UPLOAD_RESPONSES,
    openapi_extra=UPLOAD_FORM,
)
async def upload_file(request: Request, state: State, background: BackgroundTasks) -> SessionOut:
    """Create a session for an uploaded lecture file (multipart: name, module, vocabulary, language, model, file)."""
    max_bytes = upload_limit(state)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
        raise UploadTooLarge(f"the file is larger than the {format_size(max_bytes)} limit")
    receiver = UploadReceiver(
        boundary_of(request.headers.get("content-type")),
        state.store.resolve(f"{UPLOAD_DIR}/{uuid.uuid4().hex}.part"),
        max_bytes,
    )
    try:
        # Never the whole body in memory: each chunk is parsed and written as it arrives.
        async for chunk in request.stream():
            await run_in_threadpool(receiver.feed, chunk)
        await run_in_threadpool(receiver.finish)
        try:
            form = UploadFileForm.model_validate(receiver.fields)
        except ValidationError as exc:
            issues = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise Invalid(issues) from None
        try:
            # The same FFmpeg whitelists as a downloaded file (aiat.safe_media), in a child process.
            await run_in_threadpool(probe_isolated, receiver.dest, state.settings.media_probe_timeout_seconds)
        except UnreadableMedia as exc:
            raise NotMedia(f"the uploaded file is not a readable video: {exc}") from None
        out, row_id = await run_in_threadpool(_create, state, form, receiver)
    finally:
        receiver.close()
        receiver.dest.unlink(missing_ok=True)
    background.add_task(publish_now, state, row_id)
    return out


def _create(state: AppState, form: UploadFileForm, receiver: UploadReceiver) -> tuple[SessionOut, int]:
    """Insert the session and move the staged file to its source directory in the same transaction."""
    placed: list[Path] = []

    def place(session_id: int) -> None:
        dest = state.store.resolve(f"{state.store.session_dir(session_id)}/source/{receiver.filename}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        receiver.dest.replace(dest)
        placed.append(dest)

    with state.session_factory() as db:
        try:
            transcription = form.model_dump(include=set(logic.TRANSCRIPTION_COLUMNS), exclude_none=True)
            session, row_id = logic.create_upload_session(
                db, form.name, form.module, receiver.sha256, receiver.filename or "", place, transcription
            )
        except BaseException:
            for path in placed:  # the session was not committed: its file must not linger
                path.unlink(missing_ok=True)
            raise
        out = SessionOut.model_validate(session)
        out.snippet_count = 0
        return out, row_id
