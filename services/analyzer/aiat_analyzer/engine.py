"""Analyzer engines: propose candidate segments, refine them into a plan, validate the plan.

Every engine is the same pipeline: sentences -> `Proposer` (candidate segments on sentence bounds)
-> `PlanRefiner` (names, summarises, scores; may merge or drop) -> `plan.repair` (the invariants).
The lexical engine pairs the cohesion segmenter with the extractive namer; the LLM engines
(llama.cpp on CPU, a vLLM OpenAI server on GPU) keep the proposer and bring their own refiner,
which feeds candidates to the model in windows and parses its JSON with `plan.parse_plan`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from aiat.common.v1 import transcript_pb2
from aiat.errors import Cancelled, InvalidInput
from aiat_analyzer import naming, plan
from aiat_analyzer.plan import PlanItem, PlanLimits
from aiat_analyzer.segmenter import SegmenterParams, content_terms, segment
from aiat_analyzer.sentences import Sentence, flatten_words, split_sentences
from aiat_analyzer.settings import AnalyzerSettings

log = logging.getLogger(__name__)

# progress(stage, done, total): steps of the pipeline, or windows within a refiner stage.
ProgressFn = Callable[[str, float, float], None]


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

    The LLM labelers implement this, calling `progress` per window and checking `cancel` between
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

    def close(self) -> None: ...


class AnalyzerEngine(Protocol):
    """What the servicer needs: a name, analyze() in a worker thread, close() at shutdown."""

    name: str

    def analyze(
        self,
        transcript: transcript_pb2.Transcript,
        options: AnalyzeOptions,
        progress: ProgressFn,
        cancel: threading.Event,
    ) -> list[PlanItem]: ...

    def close(self) -> None: ...


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
            [content_terms(s.text) for s in sents],
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
        """One item per candidate, scored by cohesion, length fit and focus terms."""
        texts = [[s.text for s in doc.sentences[c.first : c.last + 1]] for c in candidates]
        labels = naming.label_segments(
            texts,
            [c.end - c.start for c in candidates],
            options.min_seconds,
            options.max_seconds,
            options.focus,
        )
        return [
            PlanItem(
                start=c.start, end=c.end, name=lb.name, summary=lb.summary, score=lb.score, reason=lb.reason
            )
            for c, lb in zip(candidates, labels, strict=True)
        ]

    def close(self) -> None:
        """Nothing to release."""


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

    def __init__(self, proposer: Proposer, refiner: PlanRefiner, name: str) -> None:
        self.proposer = proposer
        self.refiner = refiner
        self.name = name

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
        items = self.refiner.refine(doc, candidates, options, progress, cancel)
        step(3)
        result = plan.repair(items, doc.limits(options))
        if result.problems:
            log.info("plan repaired: %s", "; ".join(result.problems[:10]))
        progress("done", total, total)
        return result.items

    def close(self) -> None:
        """Release the refiner's model, if any."""
        self.refiner.close()


# Free-text request options go into every prompt window: keep them short enough for any context.
MAX_OPTION_CHARS = 300


def resolve_options(
    settings: AnalyzerSettings,
    min_seconds: float = 0.0,
    max_seconds: float = 0.0,
    max_snippets: int = 0,
    language: str = "",
    focus: str = "",
    title: str = "",
    module: str = "",
) -> AnalyzeOptions:
    """Request options with 0 meaning the configured default; InvalidInput for an impossible range."""
    lo = min_seconds or settings.min_seconds
    hi = max_seconds or settings.max_seconds
    if min_seconds < 0 or max_seconds < 0 or max_snippets < 0:
        raise InvalidInput("min_seconds, max_seconds and max_snippets must not be negative")
    if max_seconds and not min_seconds:
        lo = min(lo, hi / 2)
    if min_seconds and not max_seconds:
        hi = max(hi, lo * 2)
    if lo >= hi:
        raise InvalidInput(f"min_seconds ({lo:g}) must be below max_seconds ({hi:g})")
    cap = settings.max_snippets
    return AnalyzeOptions(
        min_seconds=lo,
        max_seconds=hi,
        max_snippets=min(max_snippets, cap) if max_snippets else cap,
        language=language.strip()[:MAX_OPTION_CHARS],
        focus=focus.strip()[:MAX_OPTION_CHARS],
        title=title.strip()[:MAX_OPTION_CHARS],
        module=module.strip()[:MAX_OPTION_CHARS],
    )


def build_engine(settings: AnalyzerSettings, params: SegmenterParams | None = None) -> PipelineEngine:
    """The engine named by the settings: lexical, llama (bundled GGUF model, CPU) or vllm (sidecar, GPU)."""
    if params is None and settings.proposer_cost_scale != 1.0:
        base = SegmenterParams()
        params = replace(base, segment_cost=base.segment_cost * settings.proposer_cost_scale)
    if settings.engine == "lexical":
        return PipelineEngine(LexicalProposer(params), ExtractiveRefiner(), name="lexical")
    from aiat_analyzer.llm import ChatBackend, LlmRefiner  # llm imports this module

    backend: ChatBackend
    if settings.engine == "llama":
        from aiat_analyzer.llama_engine import LlamaBackend  # loads llama.cpp only when chosen

        backend = LlamaBackend(
            settings.model_path,
            settings.model_sha256,
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            temperature=settings.temperature,
        )
    elif settings.engine == "vllm":
        from aiat_analyzer.vllm_client import VllmBackend

        vllm = VllmBackend(
            settings.vllm_url,
            settings.vllm_model,
            api_key=settings.vllm_api_key,
            timeout=settings.vllm_timeout,
            temperature=settings.temperature,
            parallel=settings.vllm_parallel,
        )
        try:
            vllm.wait_ready(settings.vllm_startup_timeout)
        except Exception:
            vllm.close()
            raise
        backend = vllm
    else:
        raise ValueError(f"unknown analyzer engine {settings.engine!r}")
    refiner = LlmRefiner(
        backend,
        window=settings.window,
        max_tokens=settings.max_tokens,
        retries=settings.retries,
        merge=settings.merge,
    )
    return PipelineEngine(LexicalProposer(params), refiner, name=settings.engine)
