"""Download a publicly shared Google Drive file to disk: confirmation form, size cap, resume, clear errors."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

import anyio
import httpx

from .guard import BlockedUrl, UrlGuard, is_login_url
from .links import DriveLink, InvalidDriveLink, parse_drive_link

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], Awaitable[None] | None]

FALLBACK_FILENAME = "video.mp4"
MAX_FILENAME_BYTES = 180
MAX_REDIRECTS = 10
MAX_CONFIRMATIONS = 3
MAX_PAGE_BYTES = 2 << 20
SNIFF_BYTES = 512
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) aiat-snippets/0.1"
QUOTA_HINT = "Too many users have viewed or downloaded this file recently"


class DriveError(Exception):
    """A download failure with a user-facing message and a machine-readable `kind`."""

    kind = "network"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind


class DriveNotPublic(DriveError):
    """The file is not shared with "Anyone with the link"."""

    kind = "not_public"


class DriveQuotaExceeded(DriveError):
    """Google's download quota for the file is exhausted."""

    kind = "quota"


class DriveNotFound(DriveError):
    """The file does not exist (404)."""

    kind = "not_found"


class DriveFolderLink(DriveError):
    """The link is a folder, not a file."""

    kind = "folder"


class DriveInvalidLink(DriveError):
    """The link is not a Google Drive file link."""

    kind = "invalid_link"


class DriveNotVideo(DriveError):
    """Drive answered with a web page or a file that is obviously not media."""

    kind = "not_video"


class DriveTooLarge(DriveError):
    """The file exceeds the configured size cap."""

    kind = "too_large"


class DriveBlocked(DriveError):
    """A request or redirect targeted a host the SSRF guard refuses."""

    kind = "blocked"


class DriveUnavailable(DriveError):
    """Drive refused the download for another reason it explained."""

    kind = "unavailable"


class DriveNetworkError(DriveError):
    """The transfer failed after all retries."""

    kind = "network"


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


_PARAM_RE = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def filename_from_disposition(value: str | None) -> str | None:
    """The filename in a Content-Disposition header: `filename*=` (RFC 5987) first, then `filename=`."""
    if not value:
        return None
    params: list[tuple[str, str]] = []
    for match in _PARAM_RE.finditer(";" + value.split(";", 1)[1] if ";" in value else ""):
        name, raw = match.group(1).lower(), match.group(2).strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.append((name, raw))
    for name, raw in params:
        if name == "filename*":
            charset, _, rest = raw.partition("'")
            _, _, encoded = rest.partition("'")
            if not encoded:
                continue
            try:
                decoded = unquote(encoded, encoding=charset or "utf-8", errors="replace")
            except LookupError:
                decoded = unquote(encoded, encoding="utf-8", errors="replace")
            if decoded:
                return decoded
    for name, raw in params:
        if name == "filename" and raw:
            return raw
    return None


def sanitize_filename(name: str | None, fallback: str = FALLBACK_FILENAME) -> str:
    """A safe single path component: no separators or control characters, bounded length."""
    if not name:
        return fallback
    text = unicodedata.normalize("NFC", name)
    text = text.replace("/", "_").replace("\\", "_")
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("C", "Zl", "Zp")))
    text = " ".join(text.split()).strip(" .")
    if not text:
        return fallback
    if len(text.encode()) > MAX_FILENAME_BYTES:
        stem, ext = os.path.splitext(text)
        if len(ext.encode()) > 16:
            stem, ext = text, ""
        budget = MAX_FILENAME_BYTES - len(ext.encode())
        stem = stem.encode()[:budget].decode("utf-8", errors="ignore").rstrip(" .")
        text = (stem + ext) if stem else fallback
    return text


_NOT_MEDIA_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\xd0\xcf\x11\xe0", "an Office document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
)


def sniff_not_media(head: bytes) -> str | None:
    """Describe what the first bytes are when they are obviously not audio/video, else None."""
    if not head:
        return "an empty file"
    for magic, what in _NOT_MEDIA_MAGIC:
        if head.startswith(magic):
            return what
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<!--")):
        return "a web page"
    if stripped.startswith((b"{", b"[")) and b"\x00" not in head:
        return "a JSON document"
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            # A multi-byte character may be cut at the end of the sample.
            try:
                text = head[:-3].decode("utf-8")
            except UnicodeDecodeError:
                return None
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        if text and printable / len(text) > 0.97:
            return "a text file"
    return None


class _DrivePage(HTMLParser):
    """Extracts the confirmation form, the download link and the error text from a Drive HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.form_action: str | None = None
        self.form_inputs: list[tuple[str, str]] = []
        self.download_href: str | None = None
        self.error_caption = ""
        self.error_subcaption = ""
        self.signin_form = False
        self._in_form = False
        self._capture: str | None = None
        self._capture_tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Track the download form, its hidden inputs and the error captions."""
        a = {k.lower(): (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "form":
            action = a.get("action", "")
            if a.get("id") == "download-form":
                self.form_action = action
                self._in_form = True
            elif is_login_url(action):
                self.signin_form = True
        elif tag == "input" and self._in_form:
            if a.get("type", "").lower() == "hidden" and a.get("name"):
                self.form_inputs.append((a["name"], a.get("value", "")))
        elif tag == "a" and a.get("id") == "uc-download-link" and a.get("href"):
            self.download_href = a["href"]
        if "uc-error-subcaption" in classes:
            self._capture, self._capture_tag = "sub", tag
        elif "uc-error-caption" in classes:
            self._capture, self._capture_tag = "cap", tag

    def handle_endtag(self, tag: str) -> None:
        """Close the form or caption being read."""
        if tag == "form":
            self._in_form = False
        if self._capture and tag == self._capture_tag:
            self._capture = None

    def handle_data(self, data: str) -> None:
        """Collect caption text."""
        if self._capture == "sub":
            self.error_subcaption += data
        elif self._capture == "cap":
            self.error_caption += data


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
        try:
            drive_link = parse_drive_link(link)
        except InvalidDriveLink as exc:
            cls = DriveFolderLink if exc.kind == "folder" else DriveInvalidLink
            raise cls(exc.message) from exc
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
                raise _not_public()
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
            page = _DrivePage()
            try:
                page.feed(page_text)
                page.close()
            except Exception:  # a malformed page is just not the file
                log.debug("unparseable Drive page", exc_info=True)
            error = " ".join((page.error_subcaption or page.error_caption).split())
            if status == 404:
                raise DriveNotFound("The Google Drive file was not found: it does not exist or was deleted.")
            if status >= 500:
                raise _Retry(f"Google Drive answered HTTP {status}")
            if status == 429 or QUOTA_HINT.lower() in error.lower() or "quota" in error.lower():
                raise DriveQuotaExceeded(
                    "Google Drive's download quota for this file is exceeded: "
                    f"{error[:300] or QUOTA_HINT}. Try again later (up to 24 hours) "
                    "or share a copy of the file."
                )
            if status in (401, 403) or page.signin_form:
                raise _not_public()
            if error and ("not exist" in error.lower() or "not found" in error.lower()):
                raise DriveNotFound(f"The Google Drive file was not found: {error[:300]}")
            if error:
                raise DriveUnavailable(f"Google Drive cannot serve the file: {error[:300]}")
            if status >= 400:
                raise DriveUnavailable(f"Google Drive answered HTTP {status}.")
            next_url = self._confirmation_url(page, url, link)
            if next_url is None:
                raise DriveNotVideo(
                    "The link does not lead to a downloadable video: Google Drive returned a web page "
                    "instead of a file."
                )
            url = next_url
        raise DriveUnavailable("Google Drive kept asking to confirm the download.")

    @staticmethod
    def _confirmation_url(page: _DrivePage, page_url: str, link: DriveLink) -> str | None:
        """The URL the virus-scan warning's form (or download link) submits to, as a GET."""
        if page.form_action is not None:
            action = urljoin(page_url, page.form_action or page_url)
            parts = urlsplit(action)
            query = parse_qsl(parts.query, keep_blank_values=True)
            names = {k for k, _ in page.form_inputs}
            query = [(k, v) for k, v in query if k not in names] + page.form_inputs
            if link.resource_key and "resourcekey" not in {k for k, _ in query}:
                query.append(("resourcekey", link.resource_key))
            return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
        if page.download_href:
            return urljoin(page_url, page.download_href)
        return None

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
        if state.total is not None and state.written != state.total:
            raise _Retry(f"the connection ended after {state.written} of {state.total} bytes")
        final = _unique_path(state.dest_dir, state.filename)
        state.part.replace(final)
        state.part = None
        return DownloadedFile(
            path=final, filename=final.name, size_bytes=state.written, content_type=state.content_type
        )

    @staticmethod
    def _check_media(head: bytes) -> None:
        """Reject content that is obviously not audio/video."""
        what = sniff_not_media(head)
        if what is not None:
            raise DriveNotVideo(f"The shared file is not a video: Google Drive returned {what}.")


def _not_public() -> DriveNotPublic:
    """The error for a file that needs a sign-in."""
    return DriveNotPublic(
        "The Google Drive file is not shared publicly: set General access to 'Anyone with the link' "
        "and try again."
    )


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


def _unique_path(directory: Path, filename: str) -> Path:
    """`directory/filename`, or `name (N).ext` when that already exists."""
    candidate = directory / filename
    stem, ext = os.path.splitext(filename)
    n = 2
    while candidate.exists():
        candidate = directory / f"{stem} ({n}){ext}"
        n += 1
    return candidate
