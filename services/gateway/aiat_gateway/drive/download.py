"""Download a publicly shared Google Drive file to disk: confirmation form, size cap, resume, clear errors."""

from __future__ import annotations

import asyncio
import errno
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urljoin

import anyio
import httpx

from .errors import (
    DriveBlocked,
    DriveDiskFull,
    DriveError,
    DriveNetworkError,
    DriveNotPublic,
    DriveNotVideo,
    DriveTooLarge,
    DriveUnavailable,
)
from .filenames import filename_from_disposition, sanitize_filename, sniff_not_media, unique_path
from .guard import BlockedUrl, UrlGuard, is_login_url
from .links import DriveLink, parse_drive_link
from .page import DrivePage, confirmation_url, page_error

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], Awaitable[None] | None]

MAX_REDIRECTS = 10
MAX_CONFIRMATIONS = 3
MAX_PAGE_BYTES = 2 << 20
SNIFF_BYTES = 512
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) aiat-snippets/0.1"


class _Retry(Exception):
    """A transient failure (broken connection, 5xx, short body): try again."""


@dataclass(frozen=True)
class DownloadedFile:
    """A completed download."""

    path: Path
    filename: str
    size_bytes: int
    content_type: str | None


def format_size(n: int) -> str:
    """Human-readable byte count (binary units)."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def _is_file_response(response: httpx.Response) -> bool:
    """True when a 200 response is the file: it has a Content-Disposition, or is neither HTML nor text."""
    if response.status_code != 200:
        return False
    if response.headers.get("content-disposition"):
        return True
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return bool(ctype) and not ctype.startswith("text/") and ctype not in ("application/xhtml+xml",)


_CONTENT_RANGE_RE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)


def content_range_matches(value: str | None, offset: int, total: int | None) -> int | None:
    """The total size when `value` is exactly `bytes offset-(T-1)/T` (T equal to `total` if known)."""
    match = _CONTENT_RANGE_RE.match(value or "")
    if not match:
        return None
    start, end, size = (int(g) for g in match.groups())
    if start != offset or end != size - 1 or size <= offset:
        return None
    if total is not None and size != total:
        return None
    return size


def _peer_ip(response: httpx.Response) -> str | None:
    """The IP address the response actually came from, when the transport exposes it."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        addr = stream.get_extra_info("server_addr")
    except Exception:
        return None
    if isinstance(addr, tuple) and addr:
        return str(addr[0])
    return None


@dataclass
class _Transfer:
    """What is known about the download so far, across retries."""

    dest_dir: Path
    filename: str | None = None
    content_type: str | None = None
    total: int | None = None
    file_url: str | None = None
    written: int = 0
    part: Path | None = None
    failures: list[str] = field(default_factory=list)


class DriveDownloader:
    """Downloads publicly shared Google Drive files (or from the operator's AIAT_DRIVE_ENDPOINT)."""

    def __init__(
        self,
        endpoint: str | None,
        max_bytes: int,
        timeout: float,
        chunk_bytes: int = 1 << 20,
        max_retries: int = 3,
        *,
        guard: UrlGuard | None = None,
        retry_delay: float = 0.5,
    ) -> None:
        self.guard = guard or UrlGuard(endpoint)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.chunk_bytes = chunk_bytes
        self.max_retries = max_retries
        self.retry_delay = retry_delay

    async def download(self, link: str, dest_dir: Path, progress: Progress | None = None) -> DownloadedFile:
        """Download the file behind a share link into `dest_dir`; raises DriveError with a user message."""
        drive_link = parse_drive_link(link)
        await anyio.Path(dest_dir).mkdir(parents=True, exist_ok=True)
        state = _Transfer(dest_dir=dest_dir)
        try:
            async with httpx.AsyncClient(
                follow_redirects=False,
                timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
            ) as client:
                attempt = 0
                while True:
                    try:
                        return await self._attempt(client, drive_link, state, progress)
                    except (_Retry, httpx.TransportError) as exc:
                        detail = str(exc) or type(exc).__name__
                        state.failures.append(detail)
                        attempt += 1
                        log.warning("drive download of %s failed: %s", drive_link.file_id, detail)
                        if attempt > self.max_retries:
                            raise DriveNetworkError(
                                f"Could not download the file from Google Drive after {attempt} attempts "
                                f"({detail}). Try again later."
                            ) from exc
                        await asyncio.sleep(min(self.retry_delay * 2 ** (attempt - 1), 10.0))
        except BaseException:
            if state.part is not None:
                state.part.unlink(missing_ok=True)
            raise

    async def _open(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response, str]:
        """GET following redirects by hand, each hop checked by the guard; returns a streaming response."""
        for _ in range(MAX_REDIRECTS + 1):
            url = self.guard.rewrite(url)
            if is_login_url(url):
                raise DriveNotPublic()
            try:
                await self.guard.check(url)
            except BlockedUrl as exc:
                raise _blocked(exc) from exc
            response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
            try:
                self.guard.check_peer(url, _peer_ip(response))
            except BlockedUrl as exc:
                await response.aclose()
                raise _blocked(exc) from exc
            if response.is_redirect:
                location = response.headers["location"]
                await response.aclose()
                url = urljoin(url, location)
                continue
            return response, url
        raise DriveUnavailable("Google Drive redirected too many times.")

    async def _read_page(self, response: httpx.Response) -> str:
        """Read (at most MAX_PAGE_BYTES of) an HTML page and close the response."""
        body = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= MAX_PAGE_BYTES:
                    break
        finally:
            await response.aclose()
        return bytes(body).decode(response.encoding or "utf-8", errors="replace")

    async def _resolve(self, client: httpx.AsyncClient, link: DriveLink) -> tuple[httpx.Response, str]:
        """Request uc?export=download, submitting the virus-scan confirmation form when Drive shows it."""
        params = {"id": link.file_id, "export": "download"}
        if link.resource_key:
            params["resourcekey"] = link.resource_key
        url = f"{self.guard.base_url()}/uc?{urlencode(params)}"
        for _ in range(MAX_CONFIRMATIONS + 1):
            response, url = await self._open(client, url)
            if _is_file_response(response):
                return response, url
            status = response.status_code
            page_text = await self._read_page(response)
            if status >= 500:
                raise _Retry(f"Google Drive answered HTTP {status}")
            page = DrivePage.parse(page_text)
            error: DriveError | None = page_error(status, page)
            if error is not None:
                raise error
            next_url = confirmation_url(page, url, link.resource_key)
            if next_url is None:
                raise DriveNotVideo(
                    "The link does not lead to a downloadable video: Google Drive returned a web page "
                    "instead of a file."
                )
            url = next_url
        raise DriveUnavailable("Google Drive kept asking to confirm the download.")

    async def _attempt(
        self, client: httpx.AsyncClient, link: DriveLink, state: _Transfer, progress: Progress | None
    ) -> DownloadedFile:
        """One try: resume the partial file when possible, else (re)start from the share link."""
        response: httpx.Response | None = None
        url = ""
        append = False
        if state.file_url and state.written > 0:
            resumed, url = await self._open(client, state.file_url, {"Range": f"bytes={state.written}-"})
            size = (
                content_range_matches(resumed.headers.get("content-range"), state.written, state.total)
                if resumed.status_code == 206
                else None
            )
            if size is not None:
                response, append = resumed, True
                state.total = size
            else:
                log.info(
                    "drive resume of %s at %d not honoured (HTTP %d, Content-Range %r): starting over",
                    link.file_id, state.written, resumed.status_code, resumed.headers.get("content-range"),
                )  # fmt: skip
                if _is_file_response(resumed):
                    response = resumed
                else:
                    await resumed.aclose()
                state.written = 0
        if response is None:
            response, url = await self._resolve(client, link)
        try:
            return await self._stream(response, url, append, state, progress)
        finally:
            await response.aclose()

    async def _stream(
        self, response: httpx.Response, url: str, append: bool, state: _Transfer, progress: Progress | None
    ) -> DownloadedFile:
        """Write the response body to the .part file, enforcing the cap, then rename it into place."""
        if not append:
            if state.filename is None:
                raw_name = filename_from_disposition(response.headers.get("content-disposition"))
                state.filename = sanitize_filename(raw_name)
            ctype = response.headers.get("content-type")
            state.content_type = ctype.split(";")[0].strip() if ctype else None
            length = response.headers.get("content-length")
            state.total = int(length) if length and length.isdigit() else None
            state.written = 0
        assert state.filename is not None
        if state.total is not None and state.total > self.max_bytes:
            raise DriveTooLarge(
                f"The video is larger than the {format_size(self.max_bytes)} limit "
                f"(it is {format_size(state.total)})."
            )
        if state.part is None:
            state.part = state.dest_dir / (state.filename + ".part")
        state.file_url = url
        try:
            await self._write(response, append, state, progress)
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise DriveDiskFull(
                    f"The server ran out of disk space after {format_size(state.written)} of the video; "
                    "retry the session once space is freed."
                ) from exc
            raise
        if state.total is not None and state.written != state.total:
            raise _Retry(f"the connection ended after {state.written} of {state.total} bytes")
        final = unique_path(state.dest_dir, state.filename)
        state.part.replace(final)
        state.part = None
        return DownloadedFile(
            path=final, filename=final.name, size_bytes=state.written, content_type=state.content_type
        )

    async def _write(
        self, response: httpx.Response, append: bool, state: _Transfer, progress: Progress | None
    ) -> None:
        """Stream the body into the .part file, sniffing its head and enforcing the size cap."""
        assert state.part is not None
        head = b"" if not append else None
        async with await anyio.open_file(state.part, "ab" if append else "wb") as out:
            async for chunk in response.aiter_bytes(self.chunk_bytes):
                if state.written + len(chunk) + (len(head) if head else 0) > self.max_bytes:
                    raise DriveTooLarge(f"The video is larger than the {format_size(self.max_bytes)} limit.")
                if head is not None:
                    head += chunk
                    if len(head) < SNIFF_BYTES:
                        continue
                    self._check_media(head)
                    chunk, head = head, None
                await out.write(chunk)
                state.written += len(chunk)
                await _report(progress, state.written, state.total)
            if head is not None:
                self._check_media(head)
                await out.write(head)
                state.written += len(head)
                await _report(progress, state.written, state.total)

    @staticmethod
    def _check_media(head: bytes) -> None:
        """Reject content that is obviously not audio/video."""
        what = sniff_not_media(head)
        if what is not None:
            raise DriveNotVideo(f"The shared file is not a video: Google Drive returned {what}.")


# Out of space, over the disk quota, or over RLIMIT_FSIZE: no retry of the transfer will fit.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _blocked(exc: BlockedUrl) -> DriveBlocked:
    """The error for a URL the guard refused."""
    return DriveBlocked(f"The Google Drive link led to an address that is not allowed: {exc}.")


async def _report(progress: Progress | None, done: int, total: int | None) -> None:
    """Call the progress callback, awaiting it when it is async."""
    if progress is None:
        return
    result = progress(done, total)
    if inspect.isawaitable(result):
        await result
