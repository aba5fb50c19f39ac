"""The analyzer pipeline: propose candidate segments, refine them into a plan, validate the plan.

Every engine is the same pipeline: sentences -> `Proposer` (candidate segments on sentence bounds)
-> `PlanRefiner` (names, summarises, scores; may merge or drop) -> `plan.repair` (the invariants).
The lexical engine (`lexical.py`) pairs the cohesion segmenter with the extractive namer; the LLM
engines (`llm/`: llama.cpp on CPU, a vLLM OpenAI server on GPU) keep the proposer and bring their own
refiner, which feeds candidates to the model in windows and reads its JSON with `llm.prompts.parse_labels`.
This module holds the types every part shares; it imports only the plan and sentence helpers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from aiat.common.v1 import transcript_pb2
from aiat.errors import Cancelled, InvalidInput
from aiat_analyzer import plan
from aiat_analyzer.advise import advise
from aiat_analyzer.plan import PlanItem, PlanLimits
from aiat_analyzer.sentences import Sentence, flatten_words, split_sentences

log = logging.getLogger(__name__)

# progress(stage, done, total): steps of the pipeline, or windows within a refiner stage.
ProgressFn = Callable[[str, float, float], None]


def band(progress: ProgressFn, start: float, width: float, total: float) -> ProgressFn:
    """A sub-step's progress reported as the span [start, start + width] of `total`, so it never runs back."""

    def report(stage: str, done: float, sub_total: float) -> None:
        fraction = min(max(done / sub_total, 0.0), 1.0) if sub_total > 0 else 0.0
        progress(stage, start + width * fraction, total)

    return report


# Free-text request options go into every prompt window: keep them short enough for any context.
MAX_OPTION_CHARS = 300


@dataclass(frozen=True)
class SlideInfo:
    """One slide shown from `start` seconds: its OCR'd title and text, and a thumbnail in the store."""

    start: float
    title: str = ""
    text: str = ""
    thumbnail: str = ""


@dataclass(frozen=True)
class AnalyzeOptions:
    """A request's options resolved against the engine defaults."""

    min_seconds: float
    max_seconds: float
    max_snippets: int  # 0 = no limit
    language: str = ""
    focus: str = ""
    title: str = ""
    module: str = ""
    slides: tuple[SlideInfo, ...] = ()  # the lecture's slides in time order (evidence for boundaries)


@dataclass(frozen=True)
class RequestLimits:
    """What a request may ask of an engine: the defaults for options left at 0, and the caps."""

    min_seconds: float
    max_seconds: float
    max_snippets: int  # the default and the cap
    max_words: int

    def check_words(self, n_words: int) -> None:
        """InvalidInput for a transcript with no words or more than max_words."""
        if n_words == 0:
            raise InvalidInput("the transcript is empty: no words to analyze")
        if n_words > self.max_words:
            raise InvalidInput(f"the transcript has {n_words} words; the limit is {self.max_words}")

    def resolve(
        self,
        min_seconds: float = 0.0,
        max_seconds: float = 0.0,
        max_snippets: int = 0,
        language: str = "",
        focus: str = "",
        title: str = "",
        module: str = "",
    ) -> AnalyzeOptions:
        """Request options with 0 meaning the default; InvalidInput for an impossible range."""
        lo = min_seconds or self.min_seconds
        hi = max_seconds or self.max_seconds
        if min_seconds < 0 or max_seconds < 0 or max_snippets < 0:
            raise InvalidInput("min_seconds, max_seconds and max_snippets must not be negative")
        if max_seconds and not min_seconds:
            lo = min(lo, hi / 2)
        if min_seconds and not max_seconds:
            hi = max(hi, lo * 2)
        if lo >= hi:
            raise InvalidInput(f"min_seconds ({lo:g}) must be below max_seconds ({hi:g})")
        cap = self.max_snippets
        return AnalyzeOptions(
            min_seconds=lo,
            max_seconds=hi,
            max_snippets=min(max_snippets, cap) if max_snippets else cap,
            language=language.strip()[:MAX_OPTION_CHARS],
            focus=focus.strip()[:MAX_OPTION_CHARS],
            title=title.strip()[:MAX_OPTION_CHARS],
            module=module.strip()[:MAX_OPTION_CHARS],
        )


@dataclass(frozen=True)
class Document:
    """A transcript as the engines see it: timed sentences inside a media duration."""

    sentences: Sequence[Sentence]
    duration: float
    language: str
    n_words: int

    def limits(self, options: AnalyzeOptions) -> PlanLimits:
        """The plan invariants for this document and request."""
        return PlanLimits(
            duration=self.duration,
            min_seconds=min(options.min_seconds, self.duration),
            max_seconds=options.max_seconds,
            max_snippets=options.max_snippets,
            sentence_starts=[s.start for s in self.sentences],
            sentence_ends=[s.end for s in self.sentences],
        )


@dataclass(frozen=True)
class Candidate:
    """A proposed segment: sentences first..last (inclusive)."""

    first: int
    last: int
    start: float
    end: float


class Proposer(Protocol):
    """Proposes candidate segments on sentence bounds, covering the document in order."""

    def propose(self, doc: Document, options: AnalyzeOptions) -> list[Candidate]: ...


class PlanRefiner(Protocol):
    """Turns candidates into plan items (name, summary, score); may merge, split at bounds, or drop.

    The LLM refiner implements this, calling `progress` per window and checking `cancel` between
    model calls. Output need not be valid: the pipeline repairs it with `plan.repair`.
    """

    name: str

    def refine(
        self,
        doc: Document,
        candidates: Sequence[Candidate],
        options: AnalyzeOptions,
        progress: ProgressFn,
        cancel: threading.Event,
    ) -> list[PlanItem]: ...

    def load(self) -> None: ...

    def close(self) -> None: ...


class AnalyzerEngine(Protocol):
    """What the servicer needs: a name, the request limits, analyze() in a worker thread, load/close."""

    name: str
    limits: RequestLimits

    @property
    def loaded(self) -> bool:
        """Whether load() has finished (calls before that are answered UNAVAILABLE)."""
        ...

    def analyze(
        self,
        transcript: transcript_pb2.Transcript,
        options: AnalyzeOptions,
        progress: ProgressFn,
        cancel: threading.Event,
    ) -> Sequence[PlanItem]: ...

    def load(self) -> None: ...

    def close(self) -> None: ...


def build_document(transcript: transcript_pb2.Transcript) -> Document:
    """Sentences and duration of a transcript; InvalidInput when it holds no words."""
    words = flatten_words(transcript)
    if not words:
        raise InvalidInput("the transcript is empty: no words to analyze")
    sentences = split_sentences(words)
    duration = max(transcript.duration, words[-1].end)
    return Document(sentences=sentences, duration=duration, language=transcript.language, n_words=len(words))


class PipelineEngine:
    """Proposer + refiner + repair: the one analyze() every engine shares."""

    STAGES = ("sentences", "proposing", "labelling", "validating")

    def __init__(self, proposer: Proposer, refiner: PlanRefiner, name: str, limits: RequestLimits) -> None:
        self.proposer = proposer
        self.refiner = refiner
        self.name = name
        self.limits = limits
        self.loaded = False

    def load(self) -> None:
        """Open the refiner's model, if any (blocking: the server runs it in a thread)."""
        self.refiner.load()
        self.loaded = True

    def analyze(
        self,
        transcript: transcript_pb2.Transcript,
        options: AnalyzeOptions,
        progress: ProgressFn,
        cancel: threading.Event,
    ) -> list[PlanItem]:
        """A valid plan for the transcript: sentence bounds, length range, no overlap, inside the media."""
        total = len(self.STAGES)

        def step(i: int) -> None:
            if cancel.is_set():
                raise Cancelled("analysis cancelled")
            progress(self.STAGES[i], i, total)

        step(0)
        doc = build_document(transcript)
        step(1)
        candidates = self.proposer.propose(doc, options)
        step(2)
        items = self.refiner.refine(doc, candidates, options, band(progress, 2, 1, total), cancel)
        step(3)
        result = plan.repair(items, doc.limits(options))
        if result.problems:
            log.info("plan repaired: %s", "; ".join(result.problems[:10]))
        items = [
            replace(
                it, advisories=tuple(advise(doc.sentences, it.start, it.end, max_seconds=options.max_seconds))
            )
            for it in result.items
        ]
        progress("done", total, total)
        return items

    def close(self) -> None:
        """Release the refiner's model, if any."""
        self.loaded = False
        self.refiner.close()
