"""The lexical-cohesion segmenter: stemming, content words and the dynamic programme over sentence spans."""

from __future__ import annotations

import itertools
from dataclasses import replace

from aiat_analyzer.segmenter import SegmenterParams, content_terms, segment, stem
from tests.analyzer.lectures import TOPICS


def test_stem_strips_common_suffixes_but_not_short_words() -> None:
    """Plurals, -ing, -ed, -ly and possessives go; short words and -ss endings stay."""
    assert [stem(w) for w in ("rockets", "burning", "studies", "quickly", "planet's")] == [
        "rocket",
        "burn",
        "study",
        "quick",
        "planet",
    ]
    assert [stem(w) for w in ("gas", "class", "bus", "red")] == ["gas", "class", "bus", "red"]


def test_content_terms_drop_stopwords_fillers_and_single_letters() -> None:
    """Only topic words remain, lower-cased and stemmed."""
    assert content_terms("Um, so the Rockets are basically burning a lot of fuel, you know.") == [
        "rocket",
        "burn",
        "fuel",
    ]
    assert content_terms("") == []


def _lecture_spans(topics: list[list[str]]) -> tuple[list[list[str]], list[float], list[float]]:
    """Sentence terms and times at 5 s a sentence."""
    sentences = [s for topic in topics for s in topic]
    return (
        [content_terms(s) for s in sentences],
        [5.0 * i for i in range(len(sentences))],
        [5.0 * i + 4.5 for i in range(len(sentences))],
    )


def test_segments_start_where_the_topic_changes() -> None:
    """Three ten-sentence topics split exactly at sentences 10 and 20 when the range allows it."""
    terms, starts, ends = _lecture_spans(TOPICS)
    assert segment(terms, starts, ends, 20.0, 90.0) == [0, 10, 20]


def test_every_segment_keeps_to_the_length_range() -> None:
    """A tight range forces more cuts; each span then lasts between min and max seconds."""
    terms, starts, ends = _lecture_spans(TOPICS)
    cuts = segment(terms, starts, ends, 10.0, 30.0)
    bounds = [*cuts, len(terms)]
    spans = [ends[b - 1] - starts[a] for a, b in itertools.pairwise(bounds)]
    assert cuts[0] == 0 and len(cuts) >= 5
    assert all(10.0 <= s <= 30.0 for s in spans), spans


def test_higher_segment_cost_gives_fewer_segments() -> None:
    """The per-segment cost trades cohesion against count: scaling it up never adds segments."""
    terms, starts, ends = _lecture_spans(TOPICS)
    base = SegmenterParams()
    cheap = segment(terms, starts, ends, 10.0, 150.0, replace(base, segment_cost=base.segment_cost / 10))
    dear = segment(terms, starts, ends, 10.0, 150.0, replace(base, segment_cost=base.segment_cost * 10))
    assert len(dear) < len(cheap)


def test_empty_input_and_a_span_too_short_for_the_range() -> None:
    """No sentences: no cuts. One sentence shorter than min still forms the one segment."""
    assert segment([], [], [], 10.0, 60.0) == []
    assert segment([["rocket"]], [0.0], [2.0], 10.0, 60.0) == [0]
