"""Chapters covering a whole lecture from 0:00, from its plan: YouTube description lines, WebVTT or JSON.

YouTube's rules: the first chapter at 0:00, at least three, each at least 10 s long. Chapters start at
the snippets' starts; the time between snippets belongs to the chapter before it; a lead-in before the
first snippet becomes its own chapter when it is long enough, else part of the first. A chapter that
starts on a titled slide (or whose next slide comes up within its first seconds) takes the slide's
title, unless the chapter before already has it; others keep the plan's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiat.slide_titles import is_generic

MIN_SECONDS = 10.0
YOUTUBE_MIN_CHAPTERS = 3
INTRO = "Introduction"
# A lecturer often opens a topic a moment before turning to its slide.
SLIDE_LEAD_SECONDS = 5.0


@dataclass(frozen=True)
class Chapter:
    """One chapter: [start, end) seconds and its title."""

    start: float
    end: float
    title: str


def chapters(
    snippets: Sequence[tuple[float, str]], duration: float, slides: Sequence[tuple[float, str]] = ()
) -> list[Chapter]:
    """Chapters from (start, name) of the plan's snippets in any order, named from (start, title) slides."""
    marks = sorted((max(0.0, start), " ".join(name.split()) or "Untitled") for start, name in snippets)
    marks = [(s, n) for s, n in marks if s < duration]
    if not marks:
        return [Chapter(0.0, duration, INTRO)] if duration > 0 else []
    if marks[0][0] >= MIN_SECONDS:
        marks.insert(0, (0.0, INTRO))
    else:
        marks[0] = (0.0, marks[0][1])
    kept: list[tuple[float, str]] = []
    for start, name in marks:
        if kept and start - kept[-1][0] < MIN_SECONDS:
            continue  # too close to the chapter before: that chapter runs on
        kept.append((start, name))
    if len(kept) > 1 and duration - kept[-1][0] < MIN_SECONDS:
        kept.pop()
    ends = [s for s, _ in kept[1:]] + [duration]
    out: list[Chapter] = []
    for (start, name), end in zip(kept, ends, strict=True):
        title = slide_title(slides, start, end)
        if title is None or (out and out[-1].title == title):
            title = name
        out.append(Chapter(start, end, title))
    return out


def slide_title(slides: Sequence[tuple[float, str]], start: float, end: float) -> str | None:
    """The title of the slide on screen at `start` or coming up within the lead; None if untitled or generic."""
    before = [t for at, t in slides if at <= start]
    soon = [t for at, t in slides if start < at <= min(start + SLIDE_LEAD_SECONDS, end)]
    picked = soon[-1] if soon else (before[-1] if before else "")
    title = " ".join(picked.split())
    return title if sum(ch.isalpha() for ch in title) >= 3 and not is_generic(title) else None


def _clock(seconds: float) -> str:
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def to_youtube(items: Sequence[Chapter]) -> str:
    """Description lines `0:00 Title` (h:mm:ss past an hour)."""
    return "".join(f"{_clock(c.start)} {c.title}\n" for c in items)


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_vtt(items: Sequence[Chapter]) -> str:
    """A WebVTT chapters track (a title's "-->", which a cue's text may not hold, becomes "→")."""
    cues = [
        f"{i}\n{_vtt_time(c.start)} --> {_vtt_time(c.end)}\n{c.title.replace('-->', '→')}\n"
        for i, c in enumerate(items, 1)
    ]
    return "WEBVTT\n\n" + "\n".join(cues)
