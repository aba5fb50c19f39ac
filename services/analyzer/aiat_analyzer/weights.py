"""How much each kind of boundary evidence counts, and the defaults tuned on the physics lectures."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvidenceWeights:
    """How much each source's full-strength evidence is worth, in per-segment costs."""

    meaning: float = 0.0  # a dip in meaning similarity across the boundary
    cohesion: float = 0.0  # meaning cohesion within each segment (embeddings)
    pause: float = 0.0
    cue: float = 0.0
    slide: float = 0.0
    reference: float = 0.0  # penalty for starting at a sentence that points back or continues
    meaning_window: int = 6  # sentences each side compared for the meaning shift


# Tuned by cross-validation on the physics lectures (docs/benchmarks.md, Analyzer); pauses have no
# tuning data with real timing and keep a conservative weight; slides are tuned on generated lectures.
DEFAULT_WEIGHTS = EvidenceWeights(meaning=2.0, pause=0.5, cue=0.3, slide=1.0, reference=0.5)
DEFAULT_COST_SCALE = 1.3
