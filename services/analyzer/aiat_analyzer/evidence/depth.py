"""TextTiling depth: how far a gap's similarity dips below the nearest peaks on both sides."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def depth(sims: NDArray[np.floating]) -> NDArray[np.float64]:
    """Depth of each gap's similarity below the nearest peaks on both sides (index 0 unused, left 0)."""
    n = len(sims)
    out = np.zeros(n, dtype=np.float64)
    for i in range(1, n):
        lpeak = sims[i]
        j = i - 1
        while j >= 1 and sims[j] >= lpeak:
            lpeak = sims[j]
            j -= 1
        rpeak = sims[i]
        j = i + 1
        while j < n and sims[j] >= rpeak:
            rpeak = sims[j]
            j += 1
        out[i] = (lpeak - sims[i]) + (rpeak - sims[i])
    return out
