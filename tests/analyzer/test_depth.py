"""TextTiling depth: a dip scores by how far it falls below the peaks on both sides."""

from __future__ import annotations

import numpy as np
import pytest

from aiat_analyzer.evidence.depth import depth


def test_a_dip_scores_its_fall_from_both_peaks_and_a_plateau_scores_nothing() -> None:
    """Peaks 0.9 left and 0.8 right of a 0.2 valley: depth 0.7 + 0.6; a flat run has depth 0 everywhere."""
    sims = np.array([1.0, 0.9, 0.5, 0.2, 0.4, 0.8, 0.7])
    out = depth(sims)
    assert out[0] == 0 and int(np.argmax(out)) == 3
    assert out[3] == pytest.approx(0.7 + 0.6)
    assert out[1] == pytest.approx(0.0) and out[5] == pytest.approx(0.0)
    assert not depth(np.full(5, 0.5)).any()
