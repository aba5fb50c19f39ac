"""Pk and WindowDiff of the segmentation benchmark on hand-made cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.segmentation import even_boundaries, pk, read_ref, windowdiff


def test_perfect_and_empty_hypotheses() -> None:
    """Identical boundaries score 0; no boundaries miss every window that spans a gold boundary."""
    assert pk([5, 10], [5, 10], 15, 2) == 0.0
    assert windowdiff([5, 10], [5, 10], 15, 2) == 0.0
    # 13 windows (i, i+2); those with i in {3,4,8,9} straddle a boundary.
    assert pk([5, 10], [], 15, 2) == pytest.approx(4 / 13)
    assert windowdiff([5, 10], [], 15, 2) == pytest.approx(4 / 13)


def test_near_miss_costs_less_than_a_far_miss() -> None:
    """A boundary off by one is penalised less than one in the wrong place."""
    assert pk([10], [11], 20, 5) < pk([10], [17], 20, 5)
    # Windows starting at 5 and at 10 now disagree: 2 of 15.
    assert pk([10], [11], 20, 5) == pytest.approx(2 / 15)


def test_windowdiff_counts_extra_boundaries_that_pk_forgives() -> None:
    """Two hypothesis boundaries inside one window: Pk sees agreement, WindowDiff does not."""
    ref, hyp = [10], [10, 11]
    assert pk(ref, hyp, 20, 5) < windowdiff(ref, hyp, 20, 5)


def test_read_ref_and_even_baseline(tmp_path: Path) -> None:
    """Gold boundaries are word positions; the even baseline splits at sentence ends."""
    path = tmp_path / "x.ref"
    path.write_text("==========\na b c .\nd e .\n==========\nf g h i .\n==========\nj .\nk l .\n==========\n")
    doc = read_ref(path)
    assert doc.boundaries == [7, 12] and doc.n_words == 17 and doc.n_segments == 3
    assert doc.k == 3
    assert even_boundaries(doc) == [7, 12]
