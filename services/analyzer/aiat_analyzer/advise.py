"""Advisories: what keeps a snippet from standing alone, each with the fix the plan can accept.

- opens_with_reference: its first sentence points back ("as we saw", "this equation", a pronoun with
  nothing before it to refer to) -> start earlier, at the end of the sentence before the reference chain.
- ends_mid_thought: the sentence after it continues it ("and so", "because", "which means") or it ends
  on a question answered next -> end later, after the continuation.
- uses_earlier_term: a term it leans on was defined ("is called", "we define") only before it starts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from aiat_analyzer.naming import surface_forms
from aiat_analyzer.plan import Advisory
from aiat_analyzer.segmenter import content_terms
from aiat_analyzer.sentences import Sentence

_LEAD = r"^[\s\"'“‘(\-–]*(?:(?:and|but|so|now|ok(?:ay)?|well|then|also)[\s,]+)?"
_BACK_PHRASE = re.compile(
    _LEAD
    + r"(?:as (?:we|i|you) (?:(?:have|'ve|just) )?(?:saw|seen|said|showed|shown|mentioned|discussed|derived|did|found"
    r"|noted|pointed out|know|remember)|as (?:before|above|mentioned|shown|discussed)|remember(?: that)?\b"
    r"|recall\b|like (?:we|i) (?:said|did|saw)|going back to|back to (?:the|our|this|that)|earlier\b|again\b)",
    re.IGNORECASE,
)
_DEMONSTRATIVE = re.compile(
    _LEAD
    + r"(?:this|that|these|those|such) (?:equation|result|expression|formula|quantity|term|relation|law|"
    r"example|case|problem|idea|one|thing|number|value|graph|curve|picture|figure|diagram|force|object|point|"
    r"answer|argument|method|way|approach|system|situation)s?\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"^[\s\"'“‘(]*(?:it|its|it's|they|them|their|he|she|his|her|this|that|these|those|which)\b", re.IGNORECASE
)
_CONTINUES = re.compile(
    r"^[\s\"'“‘(\-–]*(?:and|but|because|which|so that|that means|this means|therefore|hence|thus|or|"
    r"in other words|that is|i\.e\.|for example|for instance)\b",
    re.IGNORECASE,
)
_DEFINES = re.compile(
    r"\b(?:is|are) (?:called|known as|defined (?:as|by))|\bwe (?:call|define|name)\b|\bwhich we call\b|"
    r"\b(?:stands for|by definition)\b",
    re.IGNORECASE,
)


def _norm(text: str) -> str:
    return text.replace(" '", "'").replace(" ,", ",")


def opens_with_reference(text: str) -> bool:
    """Whether a sentence opens by pointing back at something said before it."""
    t = _norm(text)
    return bool(_BACK_PHRASE.match(t) or _DEMONSTRATIVE.match(t) or _PRONOUN.match(t))


def continues_previous(text: str) -> bool:
    """Whether a sentence opens by continuing the one before it."""
    return bool(_CONTINUES.match(_norm(text)))


def reference_scores(sentences: Sequence[Sentence]) -> NDArray[np.float64]:
    """1 where a sentence opens with a reference or a continuation (a poor place to start), else 0."""
    return np.array(
        [
            1.0 if i and (opens_with_reference(s.text) or continues_previous(s.text)) else 0.0
            for i, s in enumerate(sentences)
        ],
        dtype=np.float64,
    )


def _first_at_or_after(sentences: Sequence[Sentence], t: float) -> int:
    starts = [s.start for s in sentences]
    return min(int(np.searchsorted(np.asarray(starts), t - 1e-6, side="left")), len(sentences) - 1)


def _last_at_or_before(sentences: Sequence[Sentence], t: float) -> int:
    ends = [s.end for s in sentences]
    return max(int(np.searchsorted(np.asarray(ends), t + 1e-6, side="right")) - 1, 0)


def advise(
    sentences: Sequence[Sentence], start: float, end: float, max_shift: int = 3, max_seconds: float = 0.0
) -> list[Advisory]:
    """The advisories of the snippet [start, end] of a document's sentences."""
    if not sentences:
        return []
    a = _first_at_or_after(sentences, start)
    b = _last_at_or_before(sentences, end)
    if b < a:
        return []
    out: list[Advisory] = []
    opening = sentences[a].text
    if a > 0 and (opens_with_reference(opening) or continues_previous(opening)):
        i = a
        while (
            i > 0
            and a - i < max_shift
            and (opens_with_reference(sentences[i].text) or continues_previous(sentences[i].text))
        ):
            i -= 1
        new_start = sentences[i].start
        ok = not max_seconds or end - new_start <= max_seconds
        out.append(
            Advisory(
                "opens_with_reference",
                f"opens with a reference to what came before: “{opening[:60]}”",
                suggested_start=new_start if ok and i < a else None,
            )
        )
    last = sentences[b].text.rstrip()
    if b + 1 < len(sentences) and (continues_previous(sentences[b + 1].text) or last.endswith("?")):
        j = b + 1
        while j + 1 < len(sentences) and j - b < max_shift and continues_previous(sentences[j + 1].text):
            j += 1
        new_end = sentences[j].end
        ok = not max_seconds or new_end - start <= max_seconds
        why = (
            "ends on a question answered after it" if last.endswith("?") else "the next sentence continues it"
        )
        out.append(
            Advisory(
                "ends_mid_thought",
                f"ends before the thought ends: {why}",
                suggested_end=new_end if ok else None,
            )
        )
    inside = Counter(t for s in sentences[a : b + 1] for t in set(content_terms(s.text)))
    forms = surface_forms([s.text for s in sentences[: b + 1]])
    for i in range(a):
        text = sentences[i].text
        if not _DEFINES.search(text):
            continue
        for term in sorted(set(content_terms(text)), key=lambda t: -inside[t]):
            if inside[term] >= 3 and not any(
                term in content_terms(s.text) and _DEFINES.search(s.text) for s in sentences[a : b + 1]
            ):
                out.append(
                    Advisory(
                        "uses_earlier_term",
                        f"uses “{forms.get(term, term)}”, defined only before it starts (at {sentences[i].start:.0f} s)",
                    )
                )
                inside[term] = 0  # one advisory per term
        if sum(1 for x in out if x.kind == "uses_earlier_term") >= 3:
            break
    return out
