"""The lexical engine's parts on a real transcript: cohesion candidates and extractive labels."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace

from aiat.common.v1 import transcript_pb2
from aiat_analyzer.lexical import ExtractiveRefiner, LexicalProposer
from aiat_analyzer.pipeline import AnalyzeOptions, Document, SlideInfo, build_document

OPTIONS = AnalyzeOptions(min_seconds=20, max_seconds=90, max_snippets=0)


def test_candidates_cover_every_sentence_in_order(lecture: transcript_pb2.Transcript) -> None:
    """One candidate per topic, back to back on sentence bounds, from the first sentence to the last."""
    doc = build_document(lecture)
    candidates = LexicalProposer().propose(doc, OPTIONS)
    assert [(c.first, c.last) for c in candidates] == [(0, 9), (10, 19), (20, 29)]
    for prev, nxt in itertools.pairwise(candidates):
        assert prev.last + 1 == nxt.first
    for c in candidates:
        assert (c.start, c.end) == (doc.sentences[c.first].start, doc.sentences[c.last].end)
        assert 20 <= c.end - c.start <= 90


def test_no_sentences_no_candidates() -> None:
    """An empty document proposes nothing (the pipeline rejects empty transcripts before this)."""
    doc = Document(sentences=[], duration=10.0, language="en", n_words=0)
    assert LexicalProposer().propose(doc, OPTIONS) == []


def test_extractive_items_keep_the_candidate_bounds(lecture: transcript_pb2.Transcript) -> None:
    """One item per candidate at its bounds, named after its topic, with a summary taken from it."""
    doc = build_document(lecture)
    candidates = LexicalProposer().propose(doc, OPTIONS)
    refiner = ExtractiveRefiner()
    refiner.load()
    items = refiner.refine(doc, candidates, OPTIONS, lambda *_: None, threading.Event())
    refiner.close()
    assert [(it.start, it.end) for it in items] == [(c.start, c.end) for c in candidates]
    texts = {s.text for s in doc.sentences}
    for item, word in zip(items, ("photosynthesis", "rocket", "bread"), strict=True):
        assert word in item.name.lower() and item.summary in texts and 0 <= item.score <= 1


def test_a_candidate_shown_under_one_slide_title_is_named_after_it(
    lecture: transcript_pb2.Transcript,
) -> None:
    """The title on screen longest names the candidate (keywords kept in the reason); untitled slides name nothing."""
    doc = build_document(lecture)
    candidates = LexicalProposer().propose(doc, OPTIONS)
    slides = (
        SlideInfo(0.0, title="", text="a diagram"),
        SlideInfo(candidates[1].start, title="Rockets and Orbits"),
        SlideInfo(candidates[2].start + 1.0, title="Outline"),
    )
    options = replace(OPTIONS, slides=slides)
    items = ExtractiveRefiner().refine(doc, candidates, options, lambda *_: None, threading.Event())
    assert items[1].name == "Rockets and Orbits"
    assert "named after its slide (keywords: " in items[1].reason and "rocket" in items[1].reason.lower()
    assert "photosynthesis" in items[0].name.lower() and "bread" in items[2].name.lower()
