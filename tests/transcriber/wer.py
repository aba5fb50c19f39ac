"""Word error rate: word-level edit distance over the reference length, after light normalisation."""

from __future__ import annotations

import re

# Letters of any script and digits (Spanish and German lectures too), apostrophes inside words.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation."""
    return _WORD.findall(text.lower().replace("-", " "))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words."""
    ref = normalise(reference)
    hyp = normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ref_word != hyp_word),
            )
        previous = current
    return previous[-1] / len(ref)
