"""A fake Google Drive on loopback that reproduces the public-download responses the downloader handles.

Usage (in-process)::

    with FakeDrive() as drive:
        link = drive.add_file(drive.new_id(), Path("lecture.mp4"), "Lecture 1.mp4")
        downloader = DriveDownloader(endpoint=drive.base_url, ...)

The page builders (`quota_body`, `warning_body`, ...) give the same HTML to tests of the page parser.

From another process: ``python -m tests.fakes.fake_drive --file ID=path/to/video.mp4`` prints the base URL on
stdout (one line) and serves until it is terminated.
"""

from __future__ import annotations

import argparse
import html
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

Disposition = Literal["both", "utf8", "plain", "none"]
RangeMode = Literal["ok", "ignore", "wrong", "416"]
Scenario = Literal["file", "quota", "private", "html", "redirect", "error"]

GOOGLE_USERCONTENT = "https://drive.usercontent.google.com"
QUOTA_TEXT = (
    "Too many users have viewed or downloaded this file recently. Please try accessing the file again later. "
    "If the file you are trying to access is particularly large or is shared with many people, it may take up "
    "to 24 hours to be able to view or download the file. If you still can't access a file after 24 hours, "
    "contact your domain administrator."
)
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def html_page(title: str, body: str) -> bytes:
    """A Drive-like HTML document."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body>{body}</body></html>"
    ).encode()


def quota_body() -> str:
    """The body of Google's "Too many users have viewed or downloaded this file recently" page."""
    return (
        '<div class="uc-main"><div id="uc-text">'
        '<p class="uc-error-caption">Sorry, you can&#39;t view or download this file at this time.</p>'
        f'<p class="uc-error-subcaption">{html.escape(QUOTA_TEXT)}</p></div></div>'
    )


def not_found_body() -> str:
    """The body of Google's 404 page."""
    return '<p class="uc-error-caption">Sorry, the file you have requested does not exist.</p>'


def error_body(subcaption: str) -> str:
    """The body of a Drive error page explaining `subcaption`."""
    return f'<p class="uc-error-subcaption">{html.escape(subcaption)}</p>'


def signin_body() -> str:
    """The body of the accounts sign-in page."""
    return '<form action="/signin/v2/identifier"></form>'


def warning_body(file_id: str, filename: str, size: int, action: str, inputs: list[tuple[str, str]]) -> str:
    """The body of the large-file "Virus scan warning" page: its form GETs `action` with hidden `inputs`."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">' for name, value in inputs
    )
    return (
        '<div class="uc-main"><div id="uc-text">'
        '<p class="uc-warning-caption">Google Drive can&#39;t scan this file for viruses.</p>'
        f'<p class="uc-warning-subcaption"><span class="uc-name-size"><a href="/open?id={file_id}">'
        f"{html.escape(filename)}</a> ({size >> 20}M)</span> is too large for Google to scan "
        "for viruses. Would you still like to download this file?</p>"
        f'<form id="download-form" action="{action}" method="get">'
        '<input type="submit" id="uc-download-link" class="goog-inline-block jfk-button '
        f'jfk-button-action" value="Download anyway"/>{hidden}</form></div></div>'
    )


@dataclass(frozen=True)
class LoggedRequest:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeEntry:
    """What the fake serves for one file id."""

    file_id: str
    scenario: Scenario = "file"
    data: bytes | Path = b""
    filename: str = "lecture.mp4"
    content_type: str = "video/mp4"
    disposition: Disposition = "both"
    large: bool = False
    resource_key: str | None = None
    range_mode: RangeMode = "ok"
    redirect_uc: bool = False
    form_action: Literal["self", "google"] = "self"
    login: Literal["google", "self"] = "google"
    location: str = ""
    html_body: str = ""
    status: int = 200
    chunked: bool = False
    break_after: int = 0
    breaks: int = 0
    hold_after: int = -1
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    uuids: set[str] = field(default_factory=set)

    def size(self) -> int:
        """Size of the served bytes."""
        return self.data.stat().st_size if isinstance(self.data, Path) else len(self.data)

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the served content."""
        if isinstance(self.data, Path):
            with self.data.open("rb") as fh:
                fh.seek(start)
                return fh.read(end - start)
        return self.data[start:end]


class _Server(ThreadingHTTPServer):
    """The HTTP server, carrying a reference to its FakeDrive."""

    daemon_threads = True
    drive: FakeDrive

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up mid-response (the downloader does so on purpose)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests like drive.google.com and drive.usercontent.google.com."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        """Dispatch a GET."""
        drive = self.server.drive
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        drive._log(LoggedRequest("GET", parts.path, query, {k.lower(): v for k, v in self.headers.items()}))
        path = parts.path.rstrip("/") or "/"
        segments = [s for s in path.split("/") if s]
        if path == "/uc":
            self._uc(query)
        elif path == "/download":
            self._download(query)
        elif path == "/open":
            self._redirect(f"{drive.base_url}/file/d/{quote(query.get('id', ''))}/view")
        elif len(segments) >= 3 and segments[:2] == ["file", "d"]:
            self._viewer(segments[2])
        elif path.endswith("/ServiceLogin"):
            self._page(200, "Sign in - Google Accounts", signin_body())
        else:
            self._not_found()

    # -- routes ---------------------------------------------------------------------------------------------

    def _entry(self, query: dict[str, str]) -> FakeEntry | None:
        """The entry for the query's id (with a matching resource key), else None after a 404."""
        entry = self.server.drive.entries.get(query.get("id", ""))
        if entry is None or (entry.resource_key and query.get("resourcekey") != entry.resource_key):
            self._not_found()
            return None
        return entry

    def _common(self, entry: FakeEntry) -> bool:
        """Answer the non-file scenarios; True when a response was sent."""
        drive = self.server.drive
        if entry.scenario == "private":
            if entry.login == "google":
                target = "https://accounts.google.com/ServiceLogin"
            else:
                target = f"{drive.base_url}/accounts/ServiceLogin"
            cont = f"https://drive.google.com/uc?id={entry.file_id}&export=download"
            self._redirect(
                f"{target}?{urlencode({'service': 'wise', 'passive': '1209600', 'continue': cont})}"
            )
        elif entry.scenario == "quota":
            self._page(entry.status, "Google Drive - Quota exceeded", quota_body())
        elif entry.scenario == "error":
            self._page(entry.status, "Google Drive - Error", entry.html_body)
        elif entry.scenario == "html":
            self._page(entry.status, "Google Drive", entry.html_body or "<p>Just a web page.</p>")
        elif entry.scenario == "redirect":
            self._redirect(entry.location)
        else:
            return False
        return True

    def _uc(self, query: dict[str, str]) -> None:
        """drive.google.com/uc?id=ID&export=download."""
        entry = self._entry(query)
        if entry is None or self._common(entry):
            return
        if entry.redirect_uc:
            params = {"id": entry.file_id, "export": "download"}
            if entry.resource_key:
                params["resourcekey"] = entry.resource_key
            host = GOOGLE_USERCONTENT if entry.form_action == "google" else self.server.drive.base_url
            self._redirect(f"{host}/download?{urlencode(params)}", status=303)
        elif entry.large:
            self._warning(entry)
        else:
            self._serve(entry)

    def _download(self, query: dict[str, str]) -> None:
        """drive.usercontent.google.com/download?id=ID&export=download[&confirm=t&uuid=U]."""
        entry = self._entry(query)
        if entry is None or self._common(entry):
            return
        if entry.large and not (query.get("confirm") == "t" and query.get("uuid") in entry.uuids):
            self._warning(entry)
        else:
            self._serve(entry)

    def _viewer(self, file_id: str) -> None:
        """The /file/d/ID/view page (never the file)."""
        entry = self.server.drive.entries.get(file_id)
        if entry is None:
            self._not_found()
        else:
            self._page(200, f"{html.escape(entry.filename)} - Google Drive", "<div>viewer</div>")

    # -- responses ------------------------------------------------------------------------------------------

    def _warning(self, entry: FakeEntry) -> None:
        """The large-file "Virus scan warning" page with its confirmation form."""
        token = secrets.token_hex(8)
        entry.uuids.add(token)
        base = GOOGLE_USERCONTENT if entry.form_action == "google" else self.server.drive.base_url
        inputs = [("id", entry.file_id), ("export", "download"), ("confirm", "t"), ("uuid", token)]
        if entry.resource_key:
            inputs.append(("resourcekey", entry.resource_key))
        body = warning_body(entry.file_id, entry.filename, entry.size(), f"{base}/download", inputs)
        self._page(200, "Google Drive - Virus scan warning", body)

    def _disposition(self, entry: FakeEntry) -> str | None:
        """The Content-Disposition header value (latin-1 safe for http.server)."""
        name = entry.filename
        if entry.disposition == "none":
            return None
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
        star = f"filename*=UTF-8''{quote(name, safe='')}"
        if entry.disposition == "utf8":
            return f"attachment; {star}"
        if entry.disposition == "plain":
            raw = name.replace("\\", "\\\\").replace('"', '\\"').encode().decode("latin-1")
            return f'attachment; filename="{raw}"'
        return f'attachment; filename="{ascii_name}"; {star}'

    def _serve(self, entry: FakeEntry) -> None:
        """Send the file bytes, honouring (or deliberately mishandling) Range requests."""
        total = entry.size()
        start, status, content_range = 0, 200, None
        header = self.headers.get("Range", "")
        if header.startswith("bytes=") and header.endswith("-") and header[6:-1].isdigit():
            offset = int(header[6:-1])
            if entry.range_mode == "416" or offset >= total:
                self._empty(416, {"Content-Range": f"bytes */{total}"})
                return
            if entry.range_mode == "ok":
                start, status, content_range = offset, 206, f"bytes {offset}-{total - 1}/{total}"
            elif entry.range_mode == "wrong":
                start, status, content_range = 0, 206, f"bytes 0-{total - 1}/{total}"
        self.send_response(status)
        self.send_header("Content-Type", entry.content_type)
        if entry.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total - start))
        self.send_header("Accept-Ranges", "bytes")
        disposition = self._disposition(entry)
        if disposition:
            self.send_header("Content-Disposition", disposition)
        if content_range:
            self.send_header("Content-Range", content_range)
        self.end_headers()
        limit = total
        drive = self.server.drive
        with drive.lock:
            if entry.breaks > 0:
                entry.breaks -= 1
                limit = min(total, start + entry.break_after)
        pos = start
        while pos < limit:
            if 0 <= entry.hold_after <= pos:
                entry.hold_after = -1  # one response parks; the ones after it flow
                entry.held.set()
                entry.release.wait(120)
            chunk = entry.read(pos, min(limit, pos + (64 << 10)))
            if not chunk:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if entry.chunked else chunk)
            pos += len(chunk)
        if entry.chunked and limit == total:
            self.wfile.write(b"0\r\n\r\n")
        if limit < total:
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _page(self, status: int, title: str, body: str) -> None:
        """An HTML page without Content-Disposition."""
        text = html_page(title, body)
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _not_found(self) -> None:
        """Google's 404 page."""
        self._page(404, "Google Drive - Page Not Found", not_found_body())

    def _redirect(self, location: str, status: int = 302) -> None:
        """A redirect with an empty body."""
        self._empty(status, {"Location": location})

    def _empty(self, status: int, headers: dict[str, str]) -> None:
        """A response with no body."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


class FakeDrive:
    """A loopback HTTP server mimicking Google Drive's public download endpoints; a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.entries: dict[str, FakeEntry] = {}
        self.requests: list[LoggedRequest] = []
        self.lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.drive = self
        self.host = host
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def __str__(self) -> str:
        """The base URL (what AIAT_DRIVE_ENDPOINT should be set to)."""
        return self.base_url

    def start(self) -> FakeDrive:
        """Serve in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeDrive:
        """Start the server."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server."""
        self.stop()

    # -- registration ---------------------------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        """A random Drive-looking file id (33 characters)."""
        return "1" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(32))

    @staticmethod
    def share_link(file_id: str, resource_key: str | None = None) -> str:
        """The public share link a user would paste for a file id."""
        link = f"https://drive.google.com/file/d/{file_id}/view?usp=sharing"
        return link + (f"&resourcekey={resource_key}" if resource_key else "")

    def _add(self, entry: FakeEntry) -> str:
        """Register an entry; returns its share link."""
        with self.lock:
            self.entries[entry.file_id] = entry
        return self.share_link(entry.file_id, entry.resource_key)

    def add_file(
        self,
        file_id: str,
        data: bytes | Path,
        filename: str = "lecture.mp4",
        *,
        content_type: str = "video/mp4",
        disposition: Disposition = "both",
        large: bool = False,
        resource_key: str | None = None,
        range_mode: RangeMode = "ok",
        redirect_uc: bool = False,
        form_action: Literal["self", "google"] = "self",
        chunked: bool = False,
    ) -> str:
        """Serve `data` for `file_id`; `large` adds the virus-scan form; returns the share link.

        `redirect_uc` makes /uc answer 303 to /download like Google does; `form_action="google"` points the form
        and that redirect at https://drive.usercontent.google.com (the downloader maps it to its endpoint);
        `chunked` sends no Content-Length.
        """
        return self._add(
            FakeEntry(
                file_id=file_id,
                data=data,
                filename=filename,
                content_type=content_type,
                disposition=disposition,
                large=large,
                resource_key=resource_key,
                range_mode=range_mode,
                redirect_uc=redirect_uc,
                form_action=form_action,
                chunked=chunked,
            )
        )

    def add_quota_exceeded(self, file_id: str, status: int = 200) -> str:
        """Answer with Google's "Too many users have viewed or downloaded this file recently" page."""
        return self._add(FakeEntry(file_id=file_id, scenario="quota", status=status))

    def add_private(self, file_id: str, login: Literal["google", "self"] = "google") -> str:
        """Redirect to an accounts sign-in page (accounts.google.com, or this server's /accounts/ServiceLogin)."""
        return self._add(FakeEntry(file_id=file_id, scenario="private", login=login))

    def add_html(self, file_id: str, body: str = "", status: int = 200) -> str:
        """Answer with an HTML page that has no Content-Disposition and no download form."""
        return self._add(FakeEntry(file_id=file_id, scenario="html", html_body=body, status=status))

    def add_error_page(self, file_id: str, subcaption: str, status: int = 200) -> str:
        """Answer with a Drive error page whose uc-error-subcaption is `subcaption`."""
        body = error_body(subcaption)
        return self._add(FakeEntry(file_id=file_id, scenario="error", html_body=body, status=status))

    def add_redirect(self, file_id: str, location: str) -> str:
        """Answer /uc and /download for `file_id` with a 302 to `location`."""
        return self._add(FakeEntry(file_id=file_id, scenario="redirect", location=location))

    def break_next(self, file_id: str, after_bytes: int, times: int = 1) -> None:
        """Cut the next `times` body responses of `file_id` after `after_bytes` bytes (connection closed)."""
        with self.lock:
            entry = self.entries[file_id]
            entry.break_after, entry.breaks = after_bytes, times

    def hold_next(self, file_id: str, after_bytes: int) -> tuple[threading.Event, threading.Event]:
        """Park the next body response of `file_id` after `after_bytes` bytes; returns (held, release) events.

        `held` is set once a response is parked mid-transfer; setting `release` lets it go on.
        """
        with self.lock:
            entry = self.entries[file_id]
            entry.held, entry.release = threading.Event(), threading.Event()
            entry.hold_after = after_bytes
            return entry.held, entry.release

    def set_range_mode(self, file_id: str, mode: RangeMode) -> None:
        """How Range requests are answered: ok (206), ignore (200 full), wrong (bad Content-Range), 416."""
        with self.lock:
            self.entries[file_id].range_mode = mode

    def remove(self, file_id: str) -> None:
        """Forget a file id (it then answers 404)."""
        with self.lock:
            self.entries.pop(file_id, None)

    # -- inspection -----------------------------------------------------------------------------------------

    def _log(self, request: LoggedRequest) -> None:
        """Record a request."""
        with self.lock:
            self.requests.append(request)

    def requests_for(self, path: str) -> list[LoggedRequest]:
        """Requests received on `path` (e.g. "/uc" or "/download")."""
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def range_requests(self) -> list[str]:
        """The Range headers received, in order."""
        with self.lock:
            return [r.headers["range"] for r in self.requests if "range" in r.headers]


@contextmanager
def fake_drive_url(files: Mapping[str, bytes | Path] | None = None, *, large: bool = False) -> Iterator[str]:
    """Run a FakeDrive serving `files` (id -> bytes or path) and yield its base URL."""
    with FakeDrive() as drive:
        for file_id, data in (files or {}).items():
            name = data.name if isinstance(data, Path) else "lecture.mp4"
            drive.add_file(file_id, data, name, large=large)
        yield drive.base_url


def main(argv: list[str] | None = None) -> int:
    """Serve registered files until terminated; prints the base URL on the first line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--file", action="append", default=[], metavar="ID=PATH", help="serve PATH as ID")
    parser.add_argument(
        "--large", action="append", default=[], metavar="ID=PATH", help="same, behind the form"
    )
    args = parser.parse_args(argv)
    with FakeDrive(args.host, args.port) as drive:
        for spec, large in [(s, False) for s in args.file] + [(s, True) for s in args.large]:
            file_id, _, path = spec.partition("=")
            drive.add_file(file_id, Path(path), Path(path).name, large=large)
        print(drive.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
