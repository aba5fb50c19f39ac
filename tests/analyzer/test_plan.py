"""Plan parsing and repair: the path every LLM answer goes through."""

from __future__ import annotations

import pytest

from aiat_analyzer.plan import (
    PlanItem,
    PlanLimits,
    PlanParseError,
    coerce_item,
    extract_json,
    raw_items,
    repair,
)

# Sentences every 10 s: starts 0,10,..,190; ends 9.5,19.5,..,199.5.
LIMITS = PlanLimits(
    duration=200.0,
    min_seconds=20.0,
    max_seconds=100.0,
    max_snippets=0,
    sentence_starts=[10.0 * i for i in range(20)],
    sentence_ends=[10.0 * i + 9.5 for i in range(20)],
)


def parse_plan(text: str) -> tuple[list[PlanItem], list[str]]:
    """Items and per-item problems from a whole-plan model answer, through the service's parsing steps."""
    items: list[PlanItem] = []
    problems: list[str] = []
    for raw in raw_items(extract_json(text)):
        item, problem = coerce_item(raw)
        if item is not None:
            items.append(item)
        if problem is not None:
            problems.append(problem)
    return items, problems


def test_markdown_fences_and_prose_are_stripped() -> None:
    """A fenced JSON list inside chatter parses."""
    text = (
        'Here is the plan:\n```json\n[{"name": "Intro", "start": 0, "end": 39.5, "score": 0.8}]\n```\nEnjoy!'
    )
    items, problems = parse_plan(text)
    assert items == [PlanItem(0.0, 39.5, "Intro", "", 0.8, "")] and problems == []


def test_object_wrapper_trailing_commas_clock_times_and_score_scales() -> None:
    """{"snippets": [...]} with trailing commas, mm:ss strings and a 0..10 score."""
    text = '{"snippets": [{"title": "A", "start": "0:10", "end": "01:09.5", "score": 7, "summary": "s",},],}'
    items, _ = parse_plan(text)
    assert items == [PlanItem(10.0, 69.5, "A", "s", 0.7, "")]


def test_bad_items_are_reported_not_raised() -> None:
    """Items without times or names are dropped with a reason."""
    items, problems = parse_plan(
        '[{"name": "x"}, 5, {"start": 1, "end": 2}, {"name": "ok", "start": 0, "end": 30}]'
    )
    assert [it.name for it in items] == ["ok"]
    assert len(problems) == 3


@pytest.mark.parametrize("text", ["", "no json here", "{truncated: [", "```json\n```", "42"])
def test_malformed_output_raises_parse_error(text: str) -> None:
    """Output without a plan is a PlanParseError (the caller retries)."""
    with pytest.raises(PlanParseError):
        parse_plan(text)


def test_repair_clamps_snaps_and_fixes_overlaps() -> None:
    """Out-of-range and overlapping items become valid, sentence-aligned, ordered snippets."""
    items = [
        PlanItem(-5.0, 52.0, "first", score=0.5),  # clamped to 0, end snapped to 49.5
        PlanItem(41.0, 98.0, "second", score=0.9),  # overlaps first
        PlanItem(150.0, 400.0, "third", score=0.4),  # past the media
    ]
    result = repair(items, LIMITS)
    spans = [(it.start, it.end) for it in result.items]
    assert spans == [(0.0, 39.5), (40.0, 99.5), (150.0, 199.5)]
    assert result.problems


def test_repair_drops_short_trims_long_and_caps_count() -> None:
    """Below min is dropped, above max is cut at a sentence end, max_snippets keeps the best."""
    limits = PlanLimits(**{**LIMITS.__dict__, "max_snippets": 1})
    items = [
        PlanItem(0.0, 9.5, "short", score=1.0),
        PlanItem(10.0, 180.0, "long", score=0.2),
        PlanItem(190.0, 190.0, "empty", score=1.0),
    ]
    result = repair(items, limits)
    assert [(it.name, it.start, it.end) for it in result.items] == [("long", 10.0, 109.5)]
    result = repair([PlanItem(0.0, 29.5, "a", score=0.3), PlanItem(30.0, 59.5, "b", score=0.6)], limits)
    assert [it.name for it in result.items] == ["b"]


def test_overlap_too_big_to_split_keeps_the_better_item() -> None:
    """When neither item can give way and stay long enough, the higher score wins."""
    items = [PlanItem(0.0, 39.5, "low", score=0.2), PlanItem(10.0, 39.5, "high", score=0.9)]
    assert [it.name for it in repair(items, LIMITS).items] == ["high"]
