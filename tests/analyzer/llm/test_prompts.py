"""Prompt building and answer validation shared by the LLM backends (no model needed)."""

from __future__ import annotations

import json

import pytest

from aiat_analyzer.llm.prompts import (
    Excerpt,
    Window,
    language_name,
    make_excerpt,
    messages,
    parse_labels,
    response_schema,
)
from aiat_analyzer.plan import PlanParseError


def entry(i: int, **extra: object) -> dict[str, object]:
    """One well-formed answer entry."""
    return {"id": i, "name": f"Topic {i}", "summary": "s.", "keep": True, "score": 6} | extra


def test_answers_are_read_by_id_tolerating_fences_and_order() -> None:
    """Fenced JSON, ids out of order, 0-10 scores: labels by position."""
    text = "```json\n" + json.dumps({"segments": [entry(2, score=10), entry(1, same_topic=True)]}) + "\n```"
    labels, problems = parse_labels(text, 2)
    assert [lb.name if lb else None for lb in labels] == ["Topic 1", "Topic 2"]
    assert labels[0] is not None and labels[0].same_topic and labels[0].score == 0.6
    assert labels[1] is not None and labels[1].score == 1.0 and not problems


def test_partial_answers_report_what_is_missing() -> None:
    """An entry without a name or summary is unusable; the others are kept."""
    text = json.dumps({"segments": [entry(1), {"id": 2, "score": 3}]})
    labels, problems = parse_labels(text, 2)
    assert labels[0] is not None and labels[1] is None
    assert any("segment 2" in p for p in problems)


@pytest.mark.parametrize("text", ["", "I cannot help with that.", '{"segments": [{"id": 1}]}', "[1, 2]"])
def test_answers_without_labels_are_parse_errors(text: str) -> None:
    """No usable label at all raises PlanParseError (the refiner retries)."""
    with pytest.raises(PlanParseError):
        parse_labels(text, 1)


def test_schema_fixes_the_count_and_the_fields() -> None:
    """Exactly n entries; same_topic only when merging is on; bounded strings."""
    schema = response_schema(4, merge=True)
    seg = schema["properties"]["segments"]
    assert seg["minItems"] == seg["maxItems"] == 4
    assert "same_topic" in seg["items"]["required"]
    assert "same_topic" not in response_schema(4, merge=False)["properties"]["segments"]["items"]["required"]
    assert seg["items"]["properties"]["name"]["maxLength"] <= 80


def test_prompt_carries_focus_language_and_excerpts() -> None:
    """The focus and the answer language are in the instructions; each candidate's excerpt in the request."""
    sentences = [f"Sentence {i} about the pendulum and its period." for i in range(6)]
    ex = make_excerpt(sentences, 0.0, 130.0, ["pendulum", "period"])
    assert ex.sentences[0] == sentences[0] and ex.sentences[-1] == sentences[-1] and len(ex.sentences) == 3
    msgs = messages(Window([ex, ex]), "fr", "only the worked examples", merge=True, title="Lecture 3")
    system, user = msgs[0]["content"], msgs[1]["content"]
    assert "in French" in system and "focus: only the worked examples" in system and "same_topic" in system
    assert "[1] 0:00-2:10 (2.2 min)" in user and "[2]" in user and "keywords: pendulum, period" in user
    assert "Lecture 3" in user and "Label all 2 segments." in user
    assert "same_topic" not in messages(Window([ex]), "", "", merge=False)[0]["content"]
    assert language_name("") == "English" and language_name("pt-BR") == "Portuguese"
    assert language_name("xx") == "xx"


def test_excerpt_of_a_short_candidate_keeps_every_sentence() -> None:
    """Candidates of three sentences or fewer are shown whole."""
    ex = make_excerpt(["One.", "Two."], 0.0, 10.0, [])
    assert isinstance(ex, Excerpt) and list(ex.sentences) == ["One.", "Two."]
