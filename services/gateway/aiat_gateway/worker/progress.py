"""Progress of a step, as one callback shape: `(done, total)`, written at most once a second."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

ProgressFn = Callable[[float, float | None], Awaitable[None]]


def progress_writer(write: Callable[[float], Awaitable[None]], interval: float = 1.0) -> ProgressFn:
    """A ProgressFn that passes `done / total` (0..1) to `write`, throttled to one call per `interval`."""
    last = -interval

    async def report(done: float, total: float | None) -> None:
        nonlocal last
        now = time.monotonic()
        if not total or total <= 0 or now - last < interval:
            return
        last = now
        await write(round(min(done / total, 1.0), 4))

    return report
