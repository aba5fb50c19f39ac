"""Media for browsers: short-lived signed URLs, and the session's source video range-served."""

from __future__ import annotations

import datetime as dt
import mimetypes
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from aiat_gateway import sessions as logic
from aiat_gateway import slides as slide_rules
from aiat_gateway.api.auth import MEDIA_PATH, Access
from aiat_gateway.api.deps import Db, RowId, State
from aiat_gateway.errors import Conflict, Invalid, NotFound

router = APIRouter(tags=["media"])
output_router = APIRouter(tags=["output"])

# Video types a browser plays; anything else is sent as bytes (the download still works).
VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}


class MediaUrlsIn(BaseModel):
    """POST /media-urls body: the media paths to sign."""

    paths: list[str] = Field(
        min_length=1,
        max_length=500,
        description="Paths such as `/api/v1/sessions/1/media`, `/api/v1/snippets/2/download`, "
        "`/output/1/snippets/<file>` (not URL-encoded)",
    )


class MediaUrlsOut(BaseModel):
    """Signed URLs (path → URL relative to the gateway) valid until `expires_at`."""

    expires_at: dt.datetime
    urls: dict[str, str]


@router.post("/media-urls", response_model=MediaUrlsOut)
def media_urls(body: MediaUrlsIn, request: Request) -> MediaUrlsOut:
    """Short-lived URLs that GET the given media without a key (for <video> elements and links)."""
    access: Access = request.app.state.aiat.access
    bad = [p for p in body.paths if not MEDIA_PATH.fullmatch(p)]
    if bad:
        raise Invalid(f"not a media path: {bad[0][:200]!r}")
    urls: dict[str, str] = {}
    expires = 0
    for path in body.paths:
        expires, sig = access.sign_media(path)
        urls[path] = f"{quote(path, safe='/')}?{urlencode({'exp': expires, 'sig': sig})}"
    return MediaUrlsOut(expires_at=dt.datetime.fromtimestamp(expires, dt.UTC), urls=urls)


@router.head("/sessions/{session_id}/media", include_in_schema=False)  # a <video> may probe first
@router.get("/sessions/{session_id}/media", response_class=FileResponse)
def session_media(session_id: RowId, db: Db, state: State) -> FileResponse:
    """The session's downloaded lecture video (HTTP Range supported)."""
    session = logic.get_session(db, session_id)
    if not session.media_path:
        raise Conflict(f"session {session_id} has no video yet (status {session.job_status!r})")
    path = state.store.resolve(session.media_path)
    if not path.is_file():
        raise NotFound(f"the video of session {session_id} is missing; process the session again")
    suffix = path.suffix.lower()
    media_type = VIDEO_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)


@output_router.head("/output/{session_id}/slides/{filename}", include_in_schema=False)
@output_router.get("/output/{session_id}/slides/{filename}", response_class=FileResponse)
def slide_thumbnail(session_id: RowId, filename: str, state: State) -> FileResponse:
    """A slide's thumbnail (JPEG), as GET /sessions/{id}/slides links it."""
    if not slide_rules.THUMBNAIL_NAME.fullmatch(filename):
        raise NotFound("no such file")
    path = state.store.resolve(f"{slide_rules.slides_dir(session_id)}/{filename}")
    if not path.is_file():
        raise NotFound("no such file")
    return FileResponse(path, media_type="image/jpeg")
