"""Prompt, JSON schema and answer validation for labelling a window of candidate segments (every LLM backend)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiat_analyzer import naming
from aiat_analyzer.languages import lexicon
from aiat_analyzer.llm.chat import Messages
from aiat_analyzer.naming import Label
from aiat_analyzer.plan import PlanParseError, coerce_item, extract_json, raw_items

NAME_CHARS = 70
SUMMARY_CHARS = 200
EXCERPT_CHARS = 180
KEYWORDS = 6

LANGUAGES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "cs": "Czech",
    "sv": "Swedish",
    "ru": "Russian",
    "uk": "Ukrainian",
    "tr": "Turkish",
    "ar": "Arabic",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "hi": "Hindi",
    "th": "Thai",
    "vi": "Vietnamese",
    "id": "Indonesian",
}


@dataclass(frozen=True)
class Excerpt:
    """What the model sees of one candidate: time span, keywords and a few of its sentences."""

    start: float
    end: float
    keywords: Sequence[str]
    sentences: Sequence[str]  # opening, a central one, closing (fewer for short candidates)
    slide_titles: Sequence[str] = ()  # titles of the slides shown in it, longest on screen first


@dataclass(frozen=True)
class Window:
    """One model call's worth of candidates, with the one before it for context."""

    excerpts: Sequence[Excerpt]
    previous: Excerpt | None = None


def language_name(code: str) -> str:
    """A language code as a name the model understands ("de" -> "German"); unknown codes pass through."""
    code = code.strip()
    if not code:
        return "English"
    return LANGUAGES.get(code.lower().split("-")[0], code)


def _clock(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 60}:{total % 60:02d}"


def _clip(text: str, limit: int = EXCERPT_CHARS) -> str:
    return naming.trim_sentence(text.replace('"', "'"), limit)


def make_excerpt(
    sentences: Sequence[str],
    start: float,
    end: float,
    keywords: Sequence[str],
    language: str = "",
    slide_titles: Sequence[str] = (),
) -> Excerpt:
    """Opening, most central and closing sentence of a candidate (its keywords and slide titles picked by the caller)."""
    if len(sentences) <= 3:
        picked = list(sentences)
    else:
        bag = Counter(t for s in sentences for t in lexicon(language).terms(s))
        inner = range(1, len(sentences) - 1)

        def centrality(i: int) -> float:
            terms = Counter(lexicon(language).terms(sentences[i]))
            if len(terms) < 3:
                return -1.0
            dot = sum(c * bag[t] for t, c in terms.items())
            return dot / math.sqrt(sum(c * c for c in terms.values()))

        middle = max(inner, key=centrality)
        picked = [sentences[0], sentences[middle], sentences[-1]]
    titles = [_clip(t, NAME_CHARS) for t in slide_titles]
    return Excerpt(start, end, list(keywords), [_clip(s) for s in picked], titles)


def keywords_per_candidate(
    texts: Sequence[Sequence[str]], count: int = KEYWORDS, language: str = ""
) -> list[list[str]]:
    """The most distinctive words of each candidate against the others (tf-idf over stems)."""
    bags = [Counter(t for s in sents for t in lexicon(language).terms(s)) for sents in texts]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    out: list[list[str]] = []
    for sents, bag in zip(texts, bags, strict=True):
        forms = naming.surface_forms(sents, language)
        weight = {t: c * math.log((len(bags) + 1) / df[t]) + 0.01 * c for t, c in bag.items() if len(t) > 2}
        ranked = sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:count]
        out.append([forms.get(t, t) for t, _ in ranked])
    return out


def response_schema(n: int, merge: bool) -> dict[str, Any]:
    """JSON schema of the answer for a window of n candidates."""
    item: dict[str, Any] = {
        "id": {"type": "integer"},
        "name": {"type": "string", "maxLength": NAME_CHARS},
        "summary": {"type": "string", "maxLength": SUMMARY_CHARS},
    }
    if merge:
        item["same_topic"] = {"type": "boolean"}
    item |= {
        "keep": {"type": "boolean"},
        "score": {"type": "integer", "minimum": 0, "maximum": 10},
    }
    return {
        "type": "object",
        "properties": {
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": item,
                    "required": list(item),
                    "additionalProperties": False,
                },
                "minItems": n,
                "maxItems": n,
            }
        },
        "required": ["segments"],
        "additionalProperties": False,
    }


def system_prompt(language: str, focus: str, merge: bool, slides: bool = False) -> str:
    """Instructions shared by every window of one request."""
    lines = [
        "You prepare short video clips from a recorded lecture. The transcript was already cut into "
        "candidate segments. For each segment you see its id, time span, keywords and a few of its "
        'sentences. Reply with JSON only: {"segments": [...]}, one entry per segment id, in order.',
        "Fields of each entry:",
        "- id: the segment id.",
        "- name: a short title (3 to 8 words) that says what the segment teaches.",
        "- summary: one sentence (at most 25 words) saying what a viewer learns; "
        "do not begin with 'The segment' or 'This segment'.",
    ]
    if slides:
        lines.insert(
            3,
            "- name candidates: where a segment lists slide titles (the lecturer's own, longest shown first), "
            "use one of them as its name when it says what the segment teaches.",
        )
    if merge:
        lines.append(
            "- same_topic: true only when the segment clearly continues the topic of the segment just "
            "before it (the same concept or the same worked example); false when it starts something new. "
            "When unsure, false."
        )
    lines.append(
        "- keep: false only for segments with no teaching content (course logistics, greetings)"
        + (" or that do not match the viewer's focus" if focus else "")
        + "; otherwise true."
    )
    lines.append(
        "- score: 0 to 10, how well the segment works as a self-contained clip"
        + (" that matches the viewer's focus" if focus else "")
        + "."
    )
    lines.append(f"Write name and summary in {language_name(language)}.")
    if focus:
        lines.append(f"The viewer's focus: {focus}")
    return "\n".join(lines)


def _describe(label: str, ex: Excerpt) -> str:
    minutes = (ex.end - ex.start) / 60
    parts = [f"{label} {_clock(ex.start)}-{_clock(ex.end)} ({minutes:.1f} min)"]
    if ex.slide_titles:
        parts.append("slide titles: " + ", ".join(f'"{t}"' for t in ex.slide_titles))
    if ex.keywords:
        parts.append("keywords: " + ", ".join(ex.keywords))
    names = ("opening", "middle", "closing") if len(ex.sentences) == 3 else ("sentence",) * len(ex.sentences)
    parts.extend(f'{n}: "{s}"' for n, s in zip(names, ex.sentences, strict=True))
    return "\n".join(parts)


def user_prompt(window: Window, title: str = "", module: str = "") -> str:
    """The candidates of one window (and the one before it, for context only)."""
    head = []
    if title or module:
        head.append("Lecture: " + " / ".join(p for p in (module, title) if p))
    if window.previous is not None:
        head.append(_describe("Previous segment (context only, do not list it):", window.previous))
    body = [_describe(f"[{i}]", ex) for i, ex in enumerate(window.excerpts, start=1)]
    return "\n\n".join([*head, *body, f"Label all {len(window.excerpts)} segments."])


def messages(
    window: Window,
    language: str,
    focus: str,
    merge: bool,
    title: str = "",
    module: str = "",
    slides: bool = False,
) -> Messages:
    """Chat messages for one window (`slides`: the lecture has slides, so titles may be listed)."""
    return [
        {"role": "system", "content": system_prompt(language, focus, merge, slides)},
        {"role": "user", "content": user_prompt(window, title, module)},
    ]


def correction(problem: str, n: int) -> str:
    """The follow-up message after an invalid answer."""
    return (
        f"That answer was not usable ({problem}). Reply again with JSON only: "
        f'{{"segments": [...]}} with exactly {n} entries, ids 1 to {n}, every field filled in.'
    )


def _flag(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return default


def parse_labels(text: str, n: int) -> tuple[list[Label | None], list[str]]:
    """Labels by position 1..n from a model answer (None where unusable); PlanParseError when it has none."""
    entries = raw_items(extract_json(text))
    labels: list[Label | None] = [None] * n
    problems: list[str] = []
    ids = [e.get("id") if isinstance(e, dict) else None for e in entries]
    by_id = sorted(i for i in ids if isinstance(i, int)) == list(range(1, n + 1))
    for pos, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"entry {pos + 1} is not an object")
            continue
        slot = entry["id"] - 1 if by_id else pos
        if not 0 <= slot < n:
            problems.append(f"entry {pos + 1} has no matching segment")
            continue
        raw = dict(entry, start=0.0, end=1.0)
        score = raw.get("score")
        if isinstance(score, int | float) and not isinstance(score, bool):
            raw["score"] = min(max(float(score), 0.0), 10.0) / 10.0
        item, problem = coerce_item(raw)
        if item is None:
            problems.append(f"segment {slot + 1}: {problem}")
            continue
        labels[slot] = Label(
            name=item.name,
            summary=item.summary,
            score=item.score,
            reason=item.reason,
            same_topic=_flag(entry.get("same_topic"), False),
            keep=_flag(entry.get("keep"), True),
        )
    if not any(labels):
        raise PlanParseError("no usable segment labels: " + "; ".join(problems[:3]))
    missing = [str(i + 1) for i, lb in enumerate(labels) if lb is None]
    if missing:
        problems.append("no label for segment(s) " + ", ".join(missing))
    return labels, problems
