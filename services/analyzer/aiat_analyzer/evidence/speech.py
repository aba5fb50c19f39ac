"""Speech evidence for a boundary before each sentence: the pause before it and a discourse cue opening it."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from aiat_analyzer.sentences import Sentence

# Openings a lecturer uses to move on (strong) or that often, not always, start a new point (weak).
_STRONG = re.compile(
    r"^(?:(?:ok(?:ay)?|alright|all right|so|now|well)[\s,.]+)*"
    r"(?:let(?:'| u)s (?:now )?(?:turn|move|go|look|talk|start|begin|switch|consider|get|do|discuss|review)"
    r"|next|moving on|the (?:next|second|third|fourth|last|final|other) (?:thing|topic|point|question|part|example|idea)"
    r"|(?:first|second|third|finally|lastly)\b|to (?:summari[sz]e|sum up|conclude|recap)|in summary"
    r"|today (?:we|i)|i (?:want|would like|'d like) to (?:now )?(?:turn|move|talk|discuss|show|start))",
    re.IGNORECASE,
)
_WEAK = re.compile(r"^(?:ok(?:ay)?|alright|all right|so|now|right|well|then|anyway)\b", re.IGNORECASE)


def cue_strength(text: str) -> float:
    """1 for a strong topic-shift opening ("OK, let's now look at"), 0.4 for a weak one ("so", "now"), else 0."""
    t = text.strip().lstrip("\"'“‘(-– ").replace(" '", "'").replace(" ,", ",")
    if _STRONG.match(t):
        return 1.0
    if _WEAK.match(t):
        return 0.4
    return 0.0


def cue_scores(sentences: Sequence[Sentence]) -> NDArray[np.float64]:
    """cue_strength of each sentence's opening (index i: the gap before sentence i; index 0 unused)."""
    out = np.array([cue_strength(s.text) for s in sentences], dtype=np.float64)
    if len(out):
        out[0] = 0.0
    return out


def pause_scores(sentences: Sequence[Sentence], full_pause: float = 2.0) -> NDArray[np.float64]:
    """The silence before each sentence beyond the lecture's usual sentence gap, 0..1 (1 = `full_pause` more).

    Relative to the median gap so a slow speaker or a transcriber that pads word ends does not count as
    pausing everywhere; equal gaps (no timing evidence) give all zeros.
    """
    n = len(sentences)
    out = np.zeros(n, dtype=np.float64)
    if n < 2:
        return out
    gaps = np.array([max(0.0, sentences[i].start - sentences[i - 1].end) for i in range(1, n)])
    usual = float(np.median(gaps))
    out[1:] = np.clip((gaps - usual) / full_pause, 0.0, 1.0)
    return out
