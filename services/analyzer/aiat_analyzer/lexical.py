"""The lexical engine's parts: candidates from the cohesion segmenter, labels from the extractive namer."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence

from aiat_analyzer import naming
from aiat_analyzer.languages import lexicon
from aiat_analyzer.pipeline import AnalyzeOptions, Candidate, Document, ProgressFn
from aiat_analyzer.plan import PlanItem
from aiat_analyzer.segmenter import SegmenterParams, segment


class LexicalProposer:
    """Candidates from the lexical-cohesion dynamic programme (segmenter.segment)."""

    def __init__(self, params: SegmenterParams | None = None) -> None:
        self.params = params or SegmenterParams()

    def propose(self, doc: Document, options: AnalyzeOptions) -> list[Candidate]:
        """Segments covering every sentence, each within the length range where the text allows."""
        sents = doc.sentences
        if not sents:
            return []
        cuts = segment(
            [lexicon(doc.language or options.language).terms(s.text) for s in sents],
            [s.start for s in sents],
            [s.end for s in sents],
            min(options.min_seconds, doc.duration),
            options.max_seconds,
            self.params,
        )
        bounds = [*cuts, len(sents)]
        return [
            Candidate(first=a, last=b - 1, start=sents[a].start, end=sents[b - 1].end)
            for a, b in itertools.pairwise(bounds)
        ]


class ExtractiveRefiner:
    """Names each candidate by its keywords and summarises it by its most central sentence."""

    name = "extractive"

    def refine(
        self,
        doc: Document,
        candidates: Sequence[Candidate],
        options: AnalyzeOptions,
        progress: ProgressFn,
        cancel: threading.Event,
    ) -> list[PlanItem]:
        """One item per candidate, scored by cohesion, length fit and focus terms; named after its slide if titled."""
        texts = [[s.text for s in doc.sentences[c.first : c.last + 1]] for c in candidates]
        labels = naming.label_segments(
            texts,
            [c.end - c.start for c in candidates],
            options.min_seconds,
            options.max_seconds,
            options.focus,
            doc.language or options.language,
        )
        slides = [(s.start, s.title) for s in options.slides]
        items: list[PlanItem] = []
        for c, lb in zip(candidates, labels, strict=True):
            name, reason = lb.name, lb.reason
            title = naming.slide_name(slides, c.start, c.end)
            if title is not None:  # the lecturer's own title for what is on screen most of the time
                name, reason = title, f"{reason}; named after its slide (keywords: {lb.name})"
            items.append(
                PlanItem(
                    start=c.start, end=c.end, name=name, summary=lb.summary, score=lb.score, reason=reason
                )
            )
        return items

    def load(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to release."""
