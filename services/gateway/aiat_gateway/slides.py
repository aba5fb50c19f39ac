"""A session's slides as the analyzer found them: stored with its plan, listed with ends and thumbnail URLs."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from aiat_gateway.db.models import SessionSlide

# A 3 h lecture changing slides every 5 s; anything beyond is not a slide deck.
MAX_SLIDES = 3000
TITLE_CHARS = 300
# What the analyzer writes (slide-001.jpg); nothing else under output/<id>/slides is served.
THUMBNAIL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.jpg", re.ASCII)


@dataclass(frozen=True)
class SlideEntry:
    """One slide shown from `start` seconds until the next one: its title and thumbnail file name."""

    start: float
    title: str = ""
    thumbnail: str = ""  # a file name under slides_dir(session), "" when none


@dataclass(frozen=True)
class SlideView:
    """A stored slide with the time it is shown until and its thumbnail URL path (None without one)."""

    start: float
    end: float
    title: str
    thumbnail_url: str | None


def slides_dir(session_id: int) -> str:
    """Store-relative directory of a session's slide thumbnails (served under /output)."""
    return f"output/{session_id}/slides"


def thumbnail_name(session_id: int, path: str) -> str:
    """The file name of a thumbnail the analyzer wrote into this session's slides_dir, else ""."""
    folder, _, name = path.rpartition("/")
    return name if folder == slides_dir(session_id) and THUMBNAIL_NAME.fullmatch(name) else ""


def clean(entries: Sequence[SlideEntry], duration: float | None) -> list[SlideEntry]:
    """Slides in time order inside the media, one per start time, at most MAX_SLIDES."""
    out: list[SlideEntry] = []
    for e in sorted(entries, key=lambda s: s.start):
        if not math.isfinite(e.start) or e.start < 0 or (duration is not None and e.start >= duration):
            continue
        if out and e.start <= out[-1].start:
            continue
        out.append(SlideEntry(e.start, title(e.title), e.thumbnail))
    return out[:MAX_SLIDES]


def title(text: str) -> str:
    """An OCR'd title on one line without control characters (PostgreSQL refuses a NUL in text)."""
    printable = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    return " ".join(printable.split())[:TITLE_CHARS]


def replace_slides(db: Session, session_id: int, entries: Sequence[SlideEntry]) -> None:
    """Replace the session's slides in the caller's transaction."""
    db.execute(delete(SessionSlide).where(SessionSlide.session_id == session_id))
    db.add_all(
        SessionSlide(session_id=session_id, position=i, start=e.start, title=e.title, thumbnail=e.thumbnail)
        for i, e in enumerate(entries, 1)
    )


def stored_slides(db: Session, session_id: int) -> list[SessionSlide]:
    """The session's slides in time order."""
    query = select(SessionSlide).where(SessionSlide.session_id == session_id).order_by(SessionSlide.position)
    return list(db.scalars(query))


def count(db: Session, session_id: int) -> int:
    """How many slides the session has."""
    query = select(func.count()).select_from(SessionSlide).where(SessionSlide.session_id == session_id)
    return db.scalar(query) or 0


def views(session_id: int, rows: Sequence[SessionSlide], duration: float | None) -> list[SlideView]:
    """Each slide shown until the next one starts (the last until the end of the media)."""
    if not rows:
        return []
    ends = [r.start for r in rows[1:]] + [max(duration or 0.0, rows[-1].start)]
    return [
        SlideView(
            r.start,
            end,
            r.title,
            f"/{slides_dir(session_id)}/{r.thumbnail}" if r.thumbnail else None,
        )
        for r, end in zip(rows, ends, strict=True)
    ]
