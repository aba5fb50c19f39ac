"""The lexical engine's parts on a real transcript: cohesion candidates and extractive labels."""

from __future__ import annotations

import itertools
import threading

from aiat.common.v1 import transcript_pb2
from aiat_analyzer.lexical import ExtractiveRefiner, LexicalProposer
from aiat_analyzer.pipeline import AnalyzeOptions, Document, build_document

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
