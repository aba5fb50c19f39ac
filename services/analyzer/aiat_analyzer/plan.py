"""Plan validation and repair shared by every engine: parse model JSON, clamp, snap, de-overlap, drop."""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

NAME_MAX_CHARS = 80
SUMMARY_MAX_CHARS = 300
REASON_MAX_CHARS = 200

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_LIST_KEYS = ("snippets", "segments", "plan", "items", "chapters")


class PlanParseError(ValueError):
    """Model output that holds no usable JSON plan."""


@dataclass(frozen=True)
class Advisory:
    """One reason a snippet may not stand alone, with its fix (None = keep that bound)."""

    kind: str
    message: str
    suggested_start: float | None = None
    suggested_end: float | None = None


@dataclass(frozen=True)
class PlanItem:
    """One planned snippet in engine terms (seconds from the start of the media)."""

    start: float
    end: float
    name: str
    summary: str = ""
    score: float = 0.5
    reason: str = ""
    advisories: tuple[Advisory, ...] = ()

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class PlanLimits:
    """What a valid plan must satisfy for one transcript and request."""

    duration: float
    min_seconds: float
    max_seconds: float
    max_snippets: int  # 0 = no limit
    sentence_starts: Sequence[float]
    sentence_ends: Sequence[float]


@dataclass
class RepairResult:
    """The repaired items (sorted by start) and what had to be fixed, for logs and retry decisions."""

    items: list[PlanItem]
    problems: list[str] = field(default_factory=list)


def extract_json(text: str) -> Any:
    """The first JSON value in model output, tolerating markdown fences, prose around it, trailing commas."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for chunk in candidates:
        chunk = chunk.strip()
        for attempt in (chunk, _TRAILING_COMMA.sub(r"\1", chunk)):
            try:
                return json.loads(attempt)
            except json.JSONDecodeError:
                pass
            starts = [i for i in (attempt.find("["), attempt.find("{")) if i >= 0]
            for start in sorted(starts):
                try:
                    value, _ = json.JSONDecoder().raw_decode(attempt[start:])
                    return value
                except json.JSONDecodeError:
                    continue
    raise PlanParseError(f"no JSON plan in model output: {text[:120]!r}")


def raw_items(data: Any) -> list[Any]:
    """The list of snippet objects in a parsed plan: a bare list, {"snippets": [...]}, or one object."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            if isinstance(data.get(key), list):
                return list(data[key])
        if "start" in data or "end" in data:
            return [data]
    raise PlanParseError(f"JSON plan is neither a list nor an object with a snippet list: {str(data)[:120]}")


def parse_seconds(value: Any) -> float | None:
    """Seconds from a number, a numeric string or a clock string (mm:ss, hh:mm:ss); None if unusable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().rstrip("s").strip()
        match = _CLOCK.match(text)
        if match:
            hours, minutes, secs = match.groups()
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
        else:
            try:
                seconds = float(text)
            except ValueError:
                return None
    else:
        return None
    return seconds if math.isfinite(seconds) else None


def _text(raw: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return ""


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def coerce_item(raw: Any) -> tuple[PlanItem | None, str | None]:
    """A PlanItem from one model object (tolerant field names and types), or None and why."""
    if not isinstance(raw, dict):
        return None, f"not an object: {str(raw)[:60]}"
    start = parse_seconds(raw.get("start", raw.get("start_seconds")))
    end = parse_seconds(raw.get("end", raw.get("end_seconds")))
    if start is None or end is None:
        return None, f"missing or unreadable start/end: {str(raw)[:80]}"
    summary = _text(raw, "summary", "description")
    name = _text(raw, "name", "title") or summary
    if not name:
        return None, "no name and no summary"
    score_raw = raw.get("score", 0.5)
    score = (
        float(score_raw) if isinstance(score_raw, int | float) and not isinstance(score_raw, bool) else 0.5
    )
    if not math.isfinite(score):
        score = 0.5
    if score > 1.0:  # a 0..10 or 0..100 scale
        score = score / 10.0 if score <= 10.0 else score / 100.0
    return (
        PlanItem(
            start=start,
            end=end,
            name=_trim(name, NAME_MAX_CHARS),
            summary=_trim(summary, SUMMARY_MAX_CHARS),
            score=min(1.0, max(0.0, score)),
            reason=_trim(_text(raw, "reason", "why"), REASON_MAX_CHARS),
        ),
        None,
    )


def _snap(value: float, grid: Sequence[float]) -> float:
    """The grid point nearest to value."""
    i = bisect.bisect_left(grid, value)
    near = [grid[j] for j in (i - 1, i) if 0 <= j < len(grid)]
    return min(near, key=lambda g: abs(g - value)) if near else value


def _end_at_or_before(value: float, ends: Sequence[float]) -> float | None:
    i = bisect.bisect_right(ends, value + 1e-9)
    return ends[i - 1] if i > 0 else None


def _start_at_or_after(value: float, starts: Sequence[float]) -> float | None:
    i = bisect.bisect_left(starts, value - 1e-9)
    return starts[i] if i < len(starts) else None


def repair(items: Iterable[PlanItem], limits: PlanLimits) -> RepairResult:
    """Clamp into the media, snap to sentence bounds, trim to max, fix overlaps, drop short, cap the count."""
    lim = limits
    problems: list[str] = []
    fixed: list[PlanItem] = []
    for item in items:
        start = min(max(item.start, 0.0), lim.duration)
        end = min(max(item.end, 0.0), lim.duration)
        if (start, end) != (item.start, item.end):
            problems.append(f"{item.name!r}: clamped into the media")
        if lim.sentence_starts and lim.sentence_ends:
            start = _snap(start, lim.sentence_starts)
            end = _snap(end, lim.sentence_ends)
        if end <= start:
            problems.append(f"{item.name!r}: empty or reversed span dropped")
            continue
        if end - start > lim.max_seconds:
            new_end = (
                _end_at_or_before(start + lim.max_seconds, lim.sentence_ends) if lim.sentence_ends else None
            )
            end = new_end if new_end is not None and new_end > start else start + lim.max_seconds
            problems.append(f"{item.name!r}: trimmed to the maximum length")
        fixed.append(replace(item, start=start, end=end))

    fixed.sort(key=lambda it: (it.start, -it.score))
    kept: list[PlanItem] = []
    for item in fixed:
        if kept and item.start < kept[-1].end:
            prev = kept[-1]
            problems.append(f"{prev.name!r} and {item.name!r} overlap")
            # Keep both where a sentence bound lets the earlier one end before the later one starts.
            prev_end = _end_at_or_before(item.start, lim.sentence_ends) if lim.sentence_ends else item.start
            if prev_end is not None and prev_end - prev.start >= lim.min_seconds:
                kept[-1] = replace(prev, end=prev_end)
            else:
                new_start = (
                    _start_at_or_after(prev.end, lim.sentence_starts) if lim.sentence_starts else prev.end
                )
                if new_start is not None and item.end - new_start >= lim.min_seconds:
                    item = replace(item, start=new_start)
                elif item.score > prev.score:
                    kept[-1] = item
                    continue
                else:
                    continue
        kept.append(item)

    valid: list[PlanItem] = []
    for item in kept:
        if item.duration < lim.min_seconds - 1e-6:
            problems.append(f"{item.name!r}: shorter than {lim.min_seconds:.0f}s, dropped")
        else:
            valid.append(item)
    if lim.max_snippets > 0 and len(valid) > lim.max_snippets:
        problems.append(f"{len(valid)} snippets, keeping the best {lim.max_snippets}")
        valid = sorted(valid, key=lambda it: -it.score)[: lim.max_snippets]
        valid.sort(key=lambda it: it.start)
    return RepairResult(valid, problems)
