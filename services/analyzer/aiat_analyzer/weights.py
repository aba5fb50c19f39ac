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
    slide_snap: float = 0.0  # seconds: move each cut to the nearest slide change within this distance
    slide_section: float = 0.0  # a section-title slide (only its title on it) starting at the sentence
    reference: float = 0.0  # penalty for starting at a sentence that points back or continues
    learned: float = (
        0.0  # the boundary scorer's log-odds (evidence/learned.py), which folds in cue and reference
    )
    meaning_window: int = 6  # sentences each side compared for the meaning shift


# Cues and cost tuned on the physics lectures (docs/benchmarks.md, Analyzer: both cross-validation halves
# chose cue 0.6). The meaning dip did not help out of sample and is off; pauses have no data with real
# timing and keep a conservative weight; slides are measured on generated slide lectures.
DEFAULT_WEIGHTS = EvidenceWeights(
    meaning=0.0,
    cohesion=0.0,
    pause=0.5,
    cue=0.6,
    slide=0.0,
    slide_snap=0.0,
    slide_section=2.0,
    reference=0.5,
)
DEFAULT_COST_SCALE = 2.2
