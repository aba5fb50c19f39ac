"""The LLM refiner shared by every backend: windows of candidates -> model -> validated labels -> plan items."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiat_analyzer import naming
from aiat_analyzer.llm import prompts
from aiat_analyzer.llm.chat import ChatBackend, ask
from aiat_analyzer.llm.placement import BoundaryPlacer
from aiat_analyzer.llm.prompts import Window
from aiat_analyzer.naming import Label
from aiat_analyzer.pipeline import AnalyzeOptions, Candidate, Document, PlanRefiner, ProgressFn, band
from aiat_analyzer.plan import PlanItem

log = logging.getLogger(__name__)

# Tokens one label may take (name, summary, reason at their maximum lengths, JSON punctuation).
TOKENS_PER_LABEL = 130


@dataclass
class WindowResult:
    """Labels of one window and whether they came from the model or the extractive fallback."""

    labels: list[Label]
    from_model: bool


class LlmRefiner:
    """PlanRefiner over a chat backend: a call per window, retried on bad output, else fallback labels."""

    def __init__(
        self,
        backend: ChatBackend,
        fallback: PlanRefiner,  # the extractive labels: used when the model fails, and averaged into scores
        window: int = 8,
        max_tokens: int = 1200,
        retries: int = 1,
        merge: bool = True,
        place: bool = False,  # let the model move or drop the proposer's cuts before labelling
    ) -> None:
        self.backend = backend
        self.name = backend.name
        self.window = window
        self.max_tokens = max_tokens
        self.retries = retries
        self.merge = merge
        self.fallback = fallback
        self.placer = BoundaryPlacer(backend, window, retries, max_tokens) if place else None

    def refine(
        self,
        doc: Document,
        candidates: Sequence[Candidate],
        options: AnalyzeOptions,
        progress: ProgressFn,
        cancel: threading.Event,
    ) -> list[PlanItem]:
        """Plan items on candidate bounds: the model's labels, merges and drops, validated."""
        if not candidates:
            return []
        if self.placer is not None:
            candidates = self.placer.place(doc, candidates, options, band(progress, 0, 1, 2), cancel)
            progress = band(progress, 1, 1, 2)
        texts = [[s.text for s in doc.sentences[c.first : c.last + 1]] for c in candidates]
        language = doc.language or options.language
        keywords = prompts.keywords_per_candidate(texts, language=language)
        slides = [(s.start, s.title) for s in options.slides]
        excerpts = [
            prompts.make_excerpt(
                t,
                c.start,
                c.end,
                kw,
                language,
                [name for name, _ in naming.slide_titles(slides, c.start, c.end)],
            )
            for t, c, kw in zip(texts, candidates, keywords, strict=True)
        ]
        bounds = [(i, min(i + self.window, len(candidates))) for i in range(0, len(candidates), self.window)]
        windows = [Window(excerpts[a:b], excerpts[a - 1] if a > 0 else None) for a, b in bounds]
        extractive = self.fallback.refine(doc, candidates, options, progress, cancel)
        done = 0

        def run(k: int) -> WindowResult:
            a, b = bounds[k]
            return self._window(windows[k], extractive[a:b], options, cancel)

        results: list[WindowResult] = []
        progress("labelling", 0, len(windows))
        if self.backend.parallel > 1 and len(windows) > 1:
            with ThreadPoolExecutor(max_workers=min(self.backend.parallel, len(windows))) as pool:
                for result in pool.map(run, range(len(windows))):
                    results.append(result)
                    done += 1
                    progress("labelling", done, len(windows))
        else:
            for k in range(len(windows)):
                results.append(run(k))
                done += 1
                progress("labelling", done, len(windows))
        labels = [lb for r in results for lb in r.labels]
        return assemble(candidates, labels, options.max_seconds, self.merge)

    def _window(
        self, window: Window, extractive: Sequence[PlanItem], options: AnalyzeOptions, cancel: threading.Event
    ) -> WindowResult:
        n = len(window.excerpts)
        msgs = prompts.messages(
            window,
            options.language,
            options.focus,
            self.merge,
            options.title,
            options.module,
            slides=any(s.title for s in options.slides),
        )
        schema = prompts.response_schema(n, self.merge)
        max_tokens = min(self.max_tokens, 40 + TOKENS_PER_LABEL * n)
        fallback = [Label(it.name, it.summary, it.score, it.reason) for it in extractive]
        attempts = self.retries + 1
        answer = ask(
            self.backend,
            msgs,
            schema,
            max_tokens,
            cancel,
            parse=lambda text: prompts.parse_labels(text, n),
            correction=lambda problem: prompts.correction(problem, n),
            attempts=attempts,
            what="answer",
        )
        if answer is not None:
            labels, problems = answer
            if problems:
                log.info("%s: partly usable answer: %s", self.name, "; ".join(problems[:5]))
            return WindowResult(
                [combine(lb, fb) if lb else fb for lb, fb in zip(labels, fallback, strict=True)],
                from_model=True,
            )
        log.warning("%s: no usable answer after %d attempts; extractive labels instead", self.name, attempts)
        return WindowResult(fallback, from_model=False)

    def load(self) -> None:
        """Open the backend (load the model, or wait for the server)."""
        self.backend.load()

    def close(self) -> None:
        """Release the backend."""
        self.backend.close()


def combine(model: Label, extractive: Label) -> Label:
    """The model's name and summary; its score averaged with the extractive one, both in the reason."""
    return Label(
        name=model.name,
        summary=model.summary,
        score=round((model.score + extractive.score) / 2, 3),
        reason=f"model score {model.score * 10:.0f}/10; {extractive.reason}",
        same_topic=model.same_topic,
        keep=model.keep,
    )


def assemble(
    candidates: Sequence[Candidate], labels: Sequence[Label], max_seconds: float, merge: bool
) -> list[PlanItem]:
    """Plan items from labelled candidates: merges within max_seconds, drops (never all of them)."""
    items: list[PlanItem] = []
    for cand, label in zip(candidates, labels, strict=True):
        if not label.keep:
            continue
        prev = items[-1] if items else None
        if (
            merge
            and label.same_topic
            and prev is not None
            and _adjacent(prev, cand, candidates)
            and cand.end - prev.start <= max_seconds
        ):
            items[-1] = PlanItem(
                start=prev.start,
                end=cand.end,
                name=prev.name,
                summary=prev.summary,
                score=max(prev.score, label.score),
                reason=prev.reason,
            )
            continue
        items.append(PlanItem(cand.start, cand.end, label.name, label.summary, label.score, label.reason))
    if not items:  # the model dropped everything: keep the labels, drop nothing
        items = [
            PlanItem(c.start, c.end, lb.name, lb.summary, lb.score, lb.reason)
            for c, lb in zip(candidates, labels, strict=True)
        ]
    return items


def _adjacent(prev: PlanItem, cand: Candidate, candidates: Sequence[Candidate]) -> bool:
    """Whether cand directly follows the candidate prev ends with (no dropped candidate between)."""
    return any(abs(c.end - prev.end) < 1e-6 and c.last + 1 == cand.first for c in candidates)
