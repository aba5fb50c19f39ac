"""Advisories: a snippet that opens with a reference, ends mid-thought, or leans on an earlier definition."""

from __future__ import annotations

import threading

import pytest

from aiat.common.v1 import transcript_pb2
from aiat_analyzer.advise import advise, continues_previous, opens_with_reference
from aiat_analyzer.factory import build_engine
from aiat_analyzer.settings import AnalyzerSettings
from tests.analyzer.lectures import make_transcript, transcript_sentences


@pytest.mark.parametrize(
    ("text", "refers"),
    [
        ("As we saw last time, the force is constant.", True),
        ("This equation gives the period.", True),
        ("It is proportional to the mass.", True),
        ("And remember that the spring stretches.", True),
        ("Newton's second law relates force and mass.", False),
        ("Today we look at springs.", False),
        ("Items in the list are sorted.", False),
    ],
)
def test_openings_that_point_back(text: str, refers: bool) -> None:
    """Back-references, demonstratives with a noun, and bare pronouns; not words that merely start alike."""
    assert opens_with_reference(text) is refers


SENTENCES = [
    "A spring stretched by a distance pulls back with a force.",
    "The constant in that relation is called the spring constant.",
    "Hooke found the force grows with the stretch.",
    "It is proportional to the stretch.",
    "The spring constant tells how stiff the spring is.",
    "A stiff spring has a large spring constant.",
    "What happens if we double the mass on the spring?",
    "Because the spring constant stays the same, the period grows.",
    "Springs appear in clocks and cars.",
]


def test_a_snippet_opening_with_a_pronoun_gets_an_earlier_start() -> None:
    """'It is proportional…' opens it: the fix starts at the sentence it refers to (a sentence start)."""
    sents = transcript_sentences(make_transcript(SENTENCES))
    found = advise(sents, sents[3].start, sents[5].end)
    opening = [a for a in found if a.kind == "opens_with_reference"]
    assert opening and opening[0].suggested_start == sents[2].start
    assert not [a for a in advise(sents, sents[2].start, sents[5].end) if a.kind == "opens_with_reference"]


def test_a_snippet_ending_on_a_question_answered_next_gets_a_later_end() -> None:
    """It ends on 'What happens…?' and 'Because…' follows: the fix ends after the answer."""
    sents = transcript_sentences(make_transcript(SENTENCES))
    ending = [a for a in advise(sents, sents[4].start, sents[6].end) if a.kind == "ends_mid_thought"]
    assert ending and ending[0].suggested_end == sents[7].end
    assert not [a for a in advise(sents, sents[4].start, sents[7].end) if a.kind == "ends_mid_thought"]


def test_a_term_defined_only_before_the_snippet_is_flagged() -> None:
    """'spring constant' is defined ('is called') in sentence 1 and used three times from sentence 4 on."""
    sents = transcript_sentences(make_transcript(SENTENCES))
    terms = [a for a in advise(sents, sents[4].start, sents[8].end) if a.kind == "uses_earlier_term"]
    assert any("“constant”" in t.message for t in terms)
    assert not [a for a in advise(sents, sents[0].start, sents[8].end) if a.kind == "uses_earlier_term"]


def test_a_fix_that_would_exceed_the_longest_snippet_is_not_suggested() -> None:
    """The earlier start would make the snippet longer than max_seconds: advisory kept, no fix offered."""
    sents = transcript_sentences(make_transcript(SENTENCES))
    too_long = sents[5].end - sents[3].start
    found = advise(sents, sents[3].start, sents[5].end, max_seconds=too_long)
    assert [a.suggested_start for a in found if a.kind == "opens_with_reference"] == [None]


def test_continuations() -> None:
    """'Because…', 'and so', 'which means' continue; a fresh statement does not."""
    assert continues_previous("Because the mass doubled.") and continues_previous(
        "Which means the period grows."
    )
    assert not continues_previous("Springs appear in clocks.")


def test_the_plan_carries_advisories(lecture: transcript_pb2.Transcript) -> None:
    """The lexical engine's plan items come with their advisories (the lecture's snippets open cleanly)."""
    engine = build_engine(AnalyzerSettings(engine="lexical", meaning_weight=0))
    engine.load()
    opts = engine.limits.resolve(min_seconds=20, max_seconds=90)
    pointing = ["Springs stretch under a load."] + [
        "It stretches more under a heavier load on the spring."
    ] * 40
    items = engine.analyze(make_transcript(pointing), opts, lambda *_: None, threading.Event())
    assert len(items) > 1 and all(a.kind == "opens_with_reference" for it in items[1:] for a in it.advisories)
    assert all(it.advisories for it in items[1:])
    clean = engine.analyze(lecture, opts, lambda *_: None, threading.Event())
    assert all(a.kind != "opens_with_reference" for it in clean for a in it.advisories)
