"""Extractive naming, summarising and scoring of segments (no model): keywords and central sentences."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from aiat.slide_titles import is_generic
from aiat_analyzer.languages import TOKEN, lexicon

SUMMARY_CHARS = 220
TITLE_CHARS = 70
# A slide title names a segment only when its slides fill at least this share of it.
MIN_TITLE_SHARE = 0.25


@dataclass(frozen=True)
class Label:
    """Name, summary, score and reason for one segment; a model's verdict also says merge or drop."""

    name: str
    summary: str
    score: float
    reason: str
    same_topic: bool = False  # continues the previous segment (LLM refiner, when merging is on)
    keep: bool = True  # false: no teaching content, drop it (LLM refiner)


def surface_forms(texts: Sequence[str], language: str = "") -> dict[str, str]:
    """The most frequent lower-case spelling of each stem, for readable keywords."""
    lex = lexicon(language)
    counts: dict[str, Counter[str]] = {}
    for text in texts:
        for token in TOKEN.findall(text.lower()):
            low = token.replace("’", "'")
            if len(low) > 1 and low not in lex.stopwords:
                counts.setdefault(lex.stem(low), Counter())[low] += 1
    return {s: c.most_common(1)[0][0] for s, c in counts.items()}


def trim_sentence(text: str, limit: int = SUMMARY_CHARS) -> str:
    """A sentence cut at a word boundary to at most `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-") + "…"


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def length_fit(seconds: float, min_seconds: float, max_seconds: float) -> float:
    """1 at the geometric mean of the range, falling off log-normally towards its ends."""
    centre = math.log(math.sqrt(max(min_seconds, 1.0) * max(max_seconds, 1.0)))
    spread = max(math.log(max(max_seconds, 1.0) / max(min_seconds, 1.0)) / 2, 0.1)
    return math.exp(-((math.log(max(seconds, 1.0)) - centre) ** 2) / (2 * spread**2))


def label_segments(
    segments: Sequence[Sequence[str]],
    durations: Sequence[float],
    min_seconds: float,
    max_seconds: float,
    focus: str = "",
    language: str = "",
) -> list[Label]:
    """One Label per segment (each a list of sentence texts), keywords weighted against the other segments.

    Names are the segment's own words, so they are in the lecture's language; `language` picks the
    stemmer and stop words (English when empty).
    """
    lex = lexicon(language)
    terms = [[lex.terms(s) for s in sents] for sents in segments]
    bags = [Counter(t for sent in seg for t in sent) for seg in terms]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    n_seg = len(segments)
    focus_terms = set(lex.terms(focus))
    labels: list[Label] = []
    for seg_texts, seg_terms, bag, seconds in zip(segments, terms, bags, durations, strict=True):
        forms = surface_forms(seg_texts, language)
        weight = {t: c * math.log((n_seg + 1) / df[t]) + 0.01 * c for t, c in bag.items() if len(t) > 2}
        keywords = [forms.get(t, t) for t, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]
        name = ", ".join(keywords).capitalize() if keywords else trim_sentence(seg_texts[0], 60)

        centrality = [
            _cosine(Counter(st), bag) if len(st) >= 3 else -1.0 for st in seg_terms
        ]  # short sentences rarely summarise
        best = max(range(len(seg_texts)), key=lambda i: centrality[i]) if seg_texts else 0
        summary = trim_sentence(seg_texts[best]) if seg_texts else ""

        total = sum(bag.values())
        repeated = sum(c for c in bag.values() if c >= 2) / total if total else 0.0
        fit = length_fit(seconds, min_seconds, max_seconds)
        score = 0.6 * repeated + 0.4 * fit
        reason = f"cohesion {repeated:.0%} repeated terms, {seconds / 60:.1f} min"
        if focus_terms:
            hits = sorted(focus_terms & bag.keys())
            match = len(hits) / len(focus_terms)
            score = 0.4 * score + 0.6 * match
            reason += f"; focus terms present: {', '.join(hits)}" if hits else "; no focus terms"
        labels.append(
            Label(name=name, summary=summary, score=round(min(1.0, max(0.0, score)), 3), reason=reason)
        )
    return labels


def real_title(text: str) -> str | None:
    """An OCR'd slide title cleaned up, or None for noise, a bare number or a generic title."""
    title = " ".join(text.split()).strip(" .:;,-–—|•·")
    if not 3 <= len(title) <= TITLE_CHARS or is_generic(title):
        return None
    tokens = title.split()
    wordy = [t for t in tokens if sum(ch.isalpha() for ch in t) >= 2]
    letters = sum(ch.isalpha() for ch in title)
    if not wordy or 2 * len(wordy) < len(tokens) or letters < 0.6 * sum(not ch.isspace() for ch in title):
        return None  # mostly symbols, digits or one-letter fragments: OCR noise
    return title


def slide_titles(
    slides: Sequence[tuple[float, str]], start: float, end: float, limit: int = 4
) -> list[tuple[str, float]]:
    """Real titles of the slides shown within [start, end), with their seconds on screen, longest first.

    `slides` are (start, title) in time order, each shown until the next one starts (the last until
    `end`); slides sharing a title (builds, continued slides) count together.
    """
    shown: dict[str, tuple[str, float]] = {}
    for k, (at, title) in enumerate(slides):
        until = slides[k + 1][0] if k + 1 < len(slides) else end
        seconds = min(until, end) - max(at, start)
        clean = real_title(title) if seconds > 0 else None
        if clean is not None:
            first, total = shown.get(clean.casefold(), (clean, 0.0))
            shown[clean.casefold()] = (first, total + seconds)
    ranked = sorted(shown.values(), key=lambda ts: -ts[1])
    return ranked[:limit]


def slide_name(slides: Sequence[tuple[float, str]], start: float, end: float) -> str | None:
    """The title shown longest within [start, end) when it fills a quarter of it; else None."""
    titles = slide_titles(slides, start, end, limit=1)
    if titles and end > start and titles[0][1] >= MIN_TITLE_SHARE * (end - start):
        return titles[0][0]
    return None
