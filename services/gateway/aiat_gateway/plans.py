"""A session's plan: the snippets a person or the analyzer chose, checked and stored."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from aiat_gateway.db.models import LectureSession, Snippet
from aiat_gateway.errors import Invalid


@dataclass(frozen=True)
class PlanEntry:
    """One snippet of a plan, from the analyzer or a person."""

    name: str
    start: float
    end: float
    summary: str = ""
    score: float | None = None
    reason: str | None = None
    advisories: tuple[dict[str, object], ...] = ()


def validate_plan(entries: Sequence[PlanEntry], duration: float | None, max_count: int) -> None:
    """Check a person's plan: names, 0 <= start < end <= duration, bounded count."""
    if len(entries) > max_count:
        raise Invalid(f"a plan may hold at most {max_count} snippets, got {len(entries)}")
    for i, entry in enumerate(entries, 1):
        if not entry.name.strip():
            raise Invalid(f"snippet {i}: name must not be empty")
        if not (math.isfinite(entry.start) and math.isfinite(entry.end)):
            raise Invalid(f"snippet {i}: start and end must be finite numbers")
        if entry.start < 0 or entry.start >= entry.end:
            raise Invalid(f"snippet {i}: need 0 <= start < end, got start={entry.start} end={entry.end}")
        if duration is not None and entry.end > duration + 1e-6:
            raise Invalid(f"snippet {i}: end {entry.end} is past the end of the media ({duration:.3f} s)")


def replace_plan(
    db: Session, session: LectureSession, entries: Sequence[PlanEntry], origin: str
) -> list[str]:
    """Replace the session's snippets in the caller's transaction; returns old rendered files to delete."""
    # One DELETE statement (not the ORM collection): it takes the write lock first, so of two
    # concurrent replacements the later one also removes what the earlier one inserted.
    deleted = db.execute(
        delete(Snippet).where(Snippet.session_id == session.id).returning(Snippet.storage_link)
    )
    old_files = [link for (link,) in deleted if link]
    db.expire(session, ["snippets"])
    for position, entry in enumerate(entries, 1):
        session.snippets.append(
            Snippet(
                position=position,
                name=entry.name.strip(),
                summary=entry.summary.strip(),
                start=float(entry.start),
                end=float(entry.end),
                start_second=int(math.floor(entry.start)),
                end_second=int(math.ceil(entry.end)),
                score=entry.score,
                reason=entry.reason,
                origin=origin,
                advisories=list(entry.advisories) or None,
            )
        )
    db.flush()
    return old_files
