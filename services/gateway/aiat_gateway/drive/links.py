"""Parse Google Drive share links into a file id and an optional resource key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .errors import DriveFolderLink, InvalidDriveLink

DRIVE_LINK_HOSTS = frozenset({"drive.google.com", "docs.google.com", "drive.usercontent.google.com"})

_ID_RE = re.compile(r"[A-Za-z0-9_-]{25,200}")
_RESOURCE_KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,200}")
# /file/d/ID, /file/d/ID/view, /file/u/0/d/ID/edit, /a/example.com/file/d/ID/preview ...
_FILE_PATH_RE = re.compile(r"^(?:/a/[^/]+)?/file/(?:u/\d+/)?d/(?P<id>[^/]+)(?:/.*)?$")
# Paths that carry the id in the query: /open?id=, /uc?id=, /download?id= (optionally under /u/N/).
_QUERY_ID_PATHS = re.compile(r"^(?:/a/[^/]+)?(?:/u/\d+)?/(?:open|uc|download)/?$")
_DOCS_EDITOR_RE = re.compile(r"^(?:/a/[^/]+)?/(document|spreadsheets|presentation|forms|drawings)/")


@dataclass(frozen=True)
class DriveLink:
    """A Google Drive file reference: the file id and, for older shared files, its resource key."""

    file_id: str
    resource_key: str | None = None


def parse_drive_link(url: str) -> DriveLink:
    """The file id (and resource key) of any Google Drive share-link shape; raises InvalidDriveLink."""
    text = (url or "").strip()
    if not text:
        raise InvalidDriveLink("The Google Drive link is empty.")
    if len(text) > 4096:
        raise InvalidDriveLink("The Google Drive link is too long.")
    if "://" not in text and text.lower().startswith(tuple(DRIVE_LINK_HOSTS)):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError as exc:
        raise InvalidDriveLink("The Google Drive link is not a valid URL.") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidDriveLink("Only http(s) Google Drive links are supported.")
    if host not in DRIVE_LINK_HOSTS or parts.username is not None or port not in (None, 80, 443):
        raise InvalidDriveLink("Only Google Drive links (https://drive.google.com/...) are supported.")

    path = parts.path or "/"
    segments = [s for s in path.split("/") if s]
    query = parse_qs(parts.query, keep_blank_values=True)
    if "folders" in segments or (segments and segments[0] in ("embeddedfolderview", "folderview")):
        raise DriveFolderLink(
            "Google Drive folder links are not supported: share the video file itself "
            "(open the video in Drive, then Share > Copy link)."
        )
    editor = _DOCS_EDITOR_RE.match(path)
    if editor:
        raise InvalidDriveLink(
            f"This is a Google Docs editor link ({editor.group(1)}), not a video file: "
            "share the video file itself."
        )

    raw_id: str | None = None
    match = _FILE_PATH_RE.match(path)
    if match:
        raw_id = match.group("id")
    elif _QUERY_ID_PATHS.match(path):
        ids = query.get("id") or []
        raw_id = ids[0] if ids else None
    if raw_id is None:
        raise InvalidDriveLink(
            "The link does not point to a Google Drive file: use the file's share link "
            "(https://drive.google.com/file/d/FILE_ID/view)."
        )
    if not _ID_RE.fullmatch(raw_id):
        raise InvalidDriveLink("The Google Drive link has no valid file id.")

    keys = query.get("resourcekey") or query.get("resourceKey") or []
    resource_key = keys[0] if keys and keys[0] else None
    if resource_key is not None and not _RESOURCE_KEY_RE.fullmatch(resource_key):
        raise InvalidDriveLink("The Google Drive link has an invalid resourcekey.")
    return DriveLink(file_id=raw_id, resource_key=resource_key)
