"""File names for downloads (Content-Disposition, sanitising, no overwrite) and sniffing of non-media content."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

FALLBACK_FILENAME = "video.mp4"
MAX_FILENAME_BYTES = 180

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


def unique_path(directory: Path, filename: str) -> Path:
    """`directory/filename`, or `name (N).ext` when that already exists."""
    candidate = directory / filename
    stem, ext = os.path.splitext(filename)
    n = 2
    while candidate.exists():
        candidate = directory / f"{stem} ({n}){ext}"
        n += 1
    return candidate


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
