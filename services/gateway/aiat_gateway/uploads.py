"""A multipart file upload streamed to disk: form fields in memory (small), the file hashed as it is written."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import BinaryIO

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from aiat_gateway.drive.download import format_size
from aiat_gateway.drive.filenames import sanitize_filename, sniff_not_media
from aiat_gateway.errors import DomainError

FIELD_MAX_BYTES = 4096  # name and module are at most 300 characters, a vocabulary 500 (a few bytes each)
MAX_PARTS = 8
SNIFF_BYTES = 4096
TEXT_FIELDS = ("name", "module", "vocabulary", "language", "model")
# A staged file being received has its mtime kept at most this old (even while nothing reaches the disk:
# the sniffing window and write buffers), so a sweep by another gateway sharing the store can tell it apart.
TOUCH_SECONDS = 60.0

log = logging.getLogger(__name__)


class UploadTooLarge(DomainError):
    """The file is over AIAT_UPLOAD_MAX_BYTES."""

    status_code = 413


class NotMedia(DomainError):
    """The file is not an audio/video container this system reads."""

    status_code = 415


class BadForm(DomainError):
    """The multipart body is malformed or misses a part."""

    status_code = 400


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a Content-Type header, or BadForm (415) when it is not multipart/form-data."""
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise NotMedia("send the file as multipart/form-data with the parts name, module (optional) and file")
    return params[b"boundary"]


class UploadReceiver:
    """Feeds a multipart body to python-multipart's push parser; the `file` part goes to `dest` only."""

    def __init__(self, boundary: bytes, dest: Path, max_bytes: int) -> None:
        self.dest = dest
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size = 0
        self._sha = hashlib.sha256()
        self._out: BinaryIO | None = None
        self._head: bytearray | None = bytearray()
        self._parts = 0
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._current: str | None = None  # field name, "file", or None for an ignored part
        self._text = bytearray()
        self._done = False
        callbacks = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }
        self._parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file bytes received."""
        return self._sha.hexdigest()

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body (blocking file I/O: call it off the event loop)."""
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise BadForm(f"malformed multipart body: {exc}") from exc
        self._keep_fresh()

    def _keep_fresh(self) -> None:
        """Bump the staged file's mtime when it is TOUCH_SECONDS old: it is still being received."""
        if self._out is not None and time.time() - os.fstat(self._out.fileno()).st_mtime > TOUCH_SECONDS:
            os.utime(self._out.fileno())

    def finish(self) -> None:
        """Check the body ended and had a file; closes the file."""
        try:
            if not self._done:
                raise BadForm("the multipart body ended early (the upload was cut off)")
            if self.filename is None:
                raise BadForm("the form has no 'file' part")
            if self._head is not None:  # a file shorter than the sniffing window
                self._check_head(bytes(self._head))
                self._write(bytes(self._head))
                self._head = None
            self._keep_fresh()  # the probe that follows takes up to AIAT_MEDIA_PROBE_TIMEOUT_SECONDS
        finally:
            self.close()

    def close(self) -> None:
        """Close the file being written, if any."""
        if self._out is not None:
            self._out.close()
            self._out = None

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise BadForm(f"the form has more than {MAX_PARTS} parts")
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _kind, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        self._text = bytearray()
        if name == "file":
            if self.filename is not None:
                raise BadForm("the form has more than one 'file' part")
            raw = params.get(b"filename", b"").decode("utf-8", "replace")
            self.filename = sanitize_filename(raw.replace("\\", "/").rsplit("/", 1)[-1] or None)
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            self._out = self.dest.open("wb")
            self._current = "file"
        elif name in TEXT_FIELDS:
            self._current = name
        else:
            self._current = None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self._current == "file":
            self._file_data(piece)
        elif self._current is not None:
            self._text += piece
            if len(self._text) > FIELD_MAX_BYTES:
                raise BadForm(f"the form field {self._current!r} is longer than {FIELD_MAX_BYTES} bytes")

    def _part_end(self) -> None:
        if self._current is not None and self._current != "file":
            try:
                text = self._text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadForm(f"the form field {self._current!r} is not UTF-8") from exc
            if self._current == "vocabulary" and "vocabulary" in self.fields:  # repeated: one term each
                text = self.fields["vocabulary"] + "\n" + text
            self.fields[self._current] = text
        self._current = None

    def _end(self) -> None:
        self._done = True

    def _file_data(self, piece: bytes) -> None:
        if self.size + len(piece) + len(self._head or b"") > self.max_bytes:
            raise UploadTooLarge(f"the file is larger than the {format_size(self.max_bytes)} limit")
        if self._head is not None:
            self._head += piece
            if len(self._head) < SNIFF_BYTES:
                return
            self._check_head(bytes(self._head))
            piece, self._head = bytes(self._head), None
        self._write(piece)

    def _write(self, piece: bytes) -> None:
        assert self._out is not None
        self._out.write(piece)
        self._sha.update(piece)
        self.size += len(piece)

    @staticmethod
    def _check_head(head: bytes) -> None:
        what = sniff_not_media(head)
        if what is not None:
            raise NotMedia(f"the uploaded file is not a video: it is {what}")


def remove_stale_parts(directory: Path, older_than: float) -> list[Path]:
    """Delete `*.part` files in `directory` untouched for `older_than` seconds (left by a crashed gateway)."""
    cutoff = time.time() - older_than
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return removed
    for entry in entries:
        try:
            stale = entry.name.endswith(".part") and entry.is_file(follow_symlinks=False)
            if stale and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except FileNotFoundError:  # finished or removed meanwhile
            continue
    if removed:
        log.warning("removed %d staged upload(s) abandoned over %.0f s ago", len(removed), older_than)
    return removed
