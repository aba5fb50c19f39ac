"""The studio: static files (plain ES modules, no build step) served at `/` and `/studio/`."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
# Everything comes from this origin: no CDN, no inline script, no framing by other sites.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    # Not fingerprinted (no build step): revalidate each time, a 304 when unchanged (ETag / Last-Modified).
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class StudioFiles(StaticFiles):
    """Static files with explicit types (ES modules must be JavaScript) and the studio's headers."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        """The file with its type and headers."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        kind = TYPES.get(Path(os.fspath(full_path)).suffix)
        if kind:
            response.headers["Content-Type"] = kind
        response.headers.update(HEADERS)
        return response


def mount_studio(app: FastAPI) -> None:
    """Serve the page at `/` and its files under `/studio/`; every other path stays the API's."""

    @app.get("/", include_in_schema=False)
    def studio_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type=TYPES[".html"], headers=HEADERS)

    app.mount("/studio", StudioFiles(directory=STATIC), name="studio")
