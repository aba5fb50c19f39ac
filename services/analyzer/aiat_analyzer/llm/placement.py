"""The LLM places the proposer's cuts: for each cut, a choice among nearby sentence starts (or dropping it).

Each cut is offered the sentence starts around it that carry evidence (a discourse cue, a pause, a
slide change) plus its current place, each with the sentence before and after it; the model answers
one choice per cut in a JSON schema. Offers stay between the midpoints to the neighbouring cuts and
keep both sides within the length range, so any valid answer keeps the cuts in order; an invalid answer
is retried with the problem named, then the window keeps the proposer's cuts.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from aiat_analyzer import naming
from aiat_analyzer.evidence import speech
from aiat_analyzer.llm import prompts
from aiat_analyzer.llm.chat import ChatBackend, Messages, ask
from aiat_analyzer.pipeline import AnalyzeOptions, Candidate, Document, ProgressFn, SlideInfo
from aiat_analyzer.plan import PlanParseError, extract_json

log = logging.getLogger(__name__)

SENTENCE_CHARS = 140
TOKENS_PER_CUT = 24  # {"id": 12, "position": 3, "keep": false}, plus separators
SLIDE_REACH = 8.0  # seconds between a slide change and a sentence start for it to count there
MIN_PAUSE = 0.25  # pause score (speech.pause_scores) below which a gap is ordinary speech


@dataclass(frozen=True)
class Position:
    """One place a cut may go: before sentence `sentence`, with what is said around it and why."""

    sentence: int
    time: float
    before: str  # the sentence ending there
    after: str  # the sentence opening there
    evidence: tuple[str, ...]
    current: bool


@dataclass(frozen=True)
class Cut:
    """One proposed cut and the positions offered for it; `left`/`right` are the keywords around it."""

    positions: tuple[Position, ...]
    left: Sequence[str]
    right: Sequence[str]


def _evidence(doc: Document, slides: Sequence[SlideInfo]) -> list[tuple[float, tuple[str, ...]]]:
    """Per sentence start: an evidence strength and its description."""
    sents = doc.sentences
    cues = speech.cue_scores(sents)
    pauses = speech.pause_scores(sents)
    starts = np.array([s.start for s in sents], dtype=np.float64)
    slide_at: dict[int, str] = {}
    for slide in slides[1:]:
        i = int(np.argmin(np.abs(starts - slide.start))) if len(starts) else 0
        if 0 < i and abs(starts[i] - slide.start) < SLIDE_REACH:
            slide_at[i] = slide.title
    out: list[tuple[float, tuple[str, ...]]] = []
    for i, s in enumerate(sents):
        tags: list[str] = []
        if cues[i] > 0:
            tags.append("opens with a transition cue")
        pause = pauses[i] if pauses[i] >= MIN_PAUSE else 0.0
        if pause:
            tags.append(f"pause of {s.start - sents[i - 1].end:.1f} s before" if i else "pause")
        if i in slide_at:
            title = naming.trim_sentence(slide_at[i], 60)
            tags.append(f'slide change to "{title}"' if title else "slide change")
        out.append((float(cues[i] + pause + (1.0 if i in slide_at else 0.0)), tuple(tags)))
    return out


def cuts_to_place(
    doc: Document,
    candidates: Sequence[Candidate],
    options: AnalyzeOptions,
    per_cut: int = 5,
    reach: int = 8,
) -> list[Cut]:
    """The cuts between candidates, each with up to `per_cut` positions within `reach` sentences."""
    sents = doc.sentences
    evidence = _evidence(doc, options.slides)
    texts = [[s.text for s in sents[c.first : c.last + 1]] for c in candidates]
    keywords = prompts.keywords_per_candidate(texts, count=4, language=doc.language or options.language)
    lo_len = min(options.min_seconds, doc.duration)
    bounds = [c.first for c in candidates] + [len(sents)]
    cuts: list[Cut] = []
    for k in range(1, len(candidates)):
        prev, cut, nxt = bounds[k - 1], bounds[k], bounds[k + 1]
        # Strictly between the midpoints to the neighbouring cuts: neighbours' offers never interleave.
        lo = max((prev + cut) // 2 + 1, cut - reach)
        hi = min((cut + nxt) // 2, cut + reach)

        def fits(j: int, prev: int = prev, nxt: int = nxt) -> bool:
            left = sents[j - 1].end - sents[prev].start
            right = sents[nxt - 1].end - sents[j].start
            return min(left, right) >= lo_len and max(left, right) <= options.max_seconds

        others = [j for j in range(lo, hi + 1) if j != cut and evidence[j][0] > 0 and fits(j)]
        others.sort(key=lambda j: (-evidence[j][0], abs(j - cut)))
        chosen = sorted([cut, *others[: per_cut - 1]])
        positions = tuple(
            Position(
                sentence=j,
                time=sents[j].start,
                before=naming.trim_sentence(sents[j - 1].text, SENTENCE_CHARS),
                after=naming.trim_sentence(sents[j].text, SENTENCE_CHARS),
                evidence=evidence[j][1],
                current=j == cut,
            )
            for j in chosen
        )
        cuts.append(Cut(positions, keywords[k - 1], keywords[k]))
    return cuts


def response_schema(cuts: Sequence[Cut]) -> dict[str, Any]:
    """JSON schema of the answer: per cut (a tuple item each), its id, a position offered, keep or drop."""
    items = [
        {
            "type": "object",
            "properties": {
                "id": {"const": i},
                "position": {"enum": list(range(1, len(cut.positions) + 1))},
                "keep": {"type": "boolean"},
            },
            "required": ["id", "position", "keep"],
            "additionalProperties": False,
        }
        for i, cut in enumerate(cuts, start=1)
    ]
    return {
        "type": "object",
        "properties": {
            "cuts": {"type": "array", "prefixItems": items, "minItems": len(cuts), "maxItems": len(cuts)}
        },
        "required": ["cuts"],
        "additionalProperties": False,
    }


SYSTEM = (
    "You place the cuts between topics in a recorded lecture, so that every clip starts where the "
    "lecturer starts something new and ends where a thought ends. A first pass already cut the "
    "transcript; for each cut you see the keywords of the part before and after it and a few numbered "
    "positions where it could go: the sentence that would end the part before and the one that would "
    "open the next, and what marks the place (a transition cue, a pause, a slide change). "
    'Reply with JSON only: {"cuts": [...]}, one entry per cut id, in order, with fields:\n'
    "- id: the cut id.\n"
    "- position: the number of the position where the new topic really begins (the current one when "
    "it is right).\n"
    "- keep: false only when the parts before and after are clearly the same topic; otherwise true."
)


def _clock(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 60}:{total % 60:02d}"


def user_prompt(cuts: Sequence[Cut]) -> str:
    """The cuts of one window with their positions."""
    blocks = []
    for i, cut in enumerate(cuts, start=1):
        lines = [
            f"Cut [{i}]: before it: {', '.join(cut.left) or '-'}; after it: {', '.join(cut.right) or '-'}"
        ]
        for n, p in enumerate(cut.positions, start=1):
            marks = ", ".join(p.evidence) or "no mark"
            current = " (current)" if p.current else ""
            lines.append(f'  {n}. at {_clock(p.time)}{current} [{marks}] ..."{p.before}" | "{p.after}"')
        blocks.append("\n".join(lines))
    return "\n\n".join([*blocks, f"Place all {len(cuts)} cuts."])


def messages(cuts: Sequence[Cut]) -> Messages:
    """Chat messages for one window of cuts."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_prompt(cuts)}]


def parse_choices(text: str, cuts: Sequence[Cut]) -> list[int | None]:
    """The chosen sentence per cut (None: drop it); PlanParseError for any entry out of range or missing."""
    data = extract_json(text)
    entries = data.get("cuts") if isinstance(data, dict) else data
    if not isinstance(entries, list) or len(entries) != len(cuts):
        raise PlanParseError(f"expected a list of {len(cuts)} cuts")
    out: list[int | None] = [None] * len(cuts)
    seen: set[int] = set()
    for pos, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise PlanParseError(f"entry {pos} is not an object")
        cid, choice, keep = entry.get("id", pos), entry.get("position"), entry.get("keep", True)
        if not isinstance(cid, int) or isinstance(cid, bool) or not 1 <= cid <= len(cuts) or cid in seen:
            raise PlanParseError(f"entry {pos}: id {cid!r} is not one of the cuts 1 to {len(cuts)}")
        seen.add(cid)
        offered = cuts[cid - 1].positions
        if not isinstance(choice, int) or isinstance(choice, bool) or not 1 <= choice <= len(offered):
            raise PlanParseError(f"cut {cid}: position {choice!r} is not one of 1 to {len(offered)}")
        if not isinstance(keep, bool):
            raise PlanParseError(f"cut {cid}: keep must be true or false")
        out[cid - 1] = offered[choice - 1].sentence if keep else None
    return out


def correction(problem: str, n: int) -> str:
    """The follow-up message after an invalid answer."""
    return (
        f"That answer was not usable ({problem}). Reply again with JSON only: "
        f'{{"cuts": [...]}} with exactly {n} entries, ids 1 to {n}, each position one of the numbers listed.'
    )


class BoundaryPlacer:
    """Moves or drops the proposer's cuts by the model's choice, a call per window of cuts."""

    def __init__(
        self, backend: ChatBackend, window: int = 8, retries: int = 1, max_tokens: int = 1200
    ) -> None:
        self.backend = backend
        self.window = window
        self.retries = retries
        self.max_tokens = max_tokens

    def place(
        self,
        doc: Document,
        candidates: Sequence[Candidate],
        options: AnalyzeOptions,
        progress: ProgressFn,
        cancel: threading.Event,
    ) -> list[Candidate]:
        """Candidates over the placed cuts (the proposer's where the model gave no usable answer)."""
        if len(candidates) < 2:
            return list(candidates)
        cuts = cuts_to_place(doc, candidates, options)
        bounds = [(a, min(a + self.window, len(cuts))) for a in range(0, len(cuts), self.window)]

        def run(k: int) -> list[int | None]:
            a, b = bounds[k]
            return self._window(cuts[a:b], cancel)

        progress("placing", 0, len(bounds))
        chosen: list[int | None] = []
        workers = min(self.backend.parallel, len(bounds))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for done, part in enumerate(pool.map(run, range(len(bounds))), start=1):
                    chosen.extend(part)
                    progress("placing", done, len(bounds))
        else:
            for k in range(len(bounds)):
                chosen.extend(run(k))
                progress("placing", k + 1, len(bounds))
        return apply(doc, candidates, chosen, options.min_seconds, options.max_seconds)

    def _window(self, cuts: Sequence[Cut], cancel: threading.Event) -> list[int | None]:
        current: list[int | None] = [next(p.sentence for p in c.positions if p.current) for c in cuts]
        msgs = messages(cuts)
        schema = response_schema(cuts)
        max_tokens = min(self.max_tokens, 40 + TOKENS_PER_CUT * len(cuts))
        attempts = self.retries + 1
        chosen = ask(
            self.backend,
            msgs,
            schema,
            max_tokens,
            cancel,
            parse=lambda text: parse_choices(text, cuts),
            correction=lambda problem: correction(problem, len(cuts)),
            attempts=attempts,
            what="placement",
        )
        if chosen is not None:
            return chosen
        log.warning(
            "%s: no usable placement after %d attempts; the proposer's cuts stay", self.backend.name, attempts
        )
        return current


def apply(
    doc: Document,
    candidates: Sequence[Candidate],
    chosen: Sequence[int | None],
    min_seconds: float,
    max_seconds: float,
) -> list[Candidate]:
    """Candidates over the chosen cuts; a move or drop that would take a clip out of the length range is not made.

    Each offer fits between the proposer's neighbouring cuts, but two neighbours both moving towards (or
    away from) each other could still leave the clip between them too short (or too long): a move is made
    only if the clip it closes, from the cut actually placed before, and the one it opens, up to the
    proposer's next cut, are both in range, so falling back to the proposer's cut is always in range too.
    """
    sents = doc.sentences
    lo_len = min(min_seconds, doc.duration)

    def seconds(a: int, b: int) -> float:
        return sents[b - 1].end - sents[a].start

    cuts = [0]
    for k, (cand, pick) in enumerate(zip(candidates[1:], chosen, strict=True), start=1):
        nxt = candidates[k + 1].first if k + 1 < len(candidates) else len(sents)
        if pick is None and seconds(cuts[-1], nxt) <= max_seconds:
            continue
        at = cand.first
        if pick is not None and cuts[-1] < pick < nxt:
            spans = (seconds(cuts[-1], pick), seconds(pick, nxt))
            if min(spans) >= lo_len and max(spans) <= max_seconds:
                at = pick
        cuts.append(at)
    bounds = [*cuts, len(sents)]
    return [
        Candidate(first=a, last=b - 1, start=sents[a].start, end=sents[b - 1].end)
        for a, b in itertools.pairwise(bounds)
    ]
