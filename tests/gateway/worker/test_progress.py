"""The one progress callback: (done, total) -> a 0..1 fraction, written at most once per interval."""

from __future__ import annotations

import asyncio

from aiat_gateway.worker.progress import progress_writer


async def test_progress_is_a_clamped_fraction_throttled_per_interval() -> None:
    written: list[float] = []

    async def write(fraction: float) -> None:
        written.append(fraction)

    report = progress_writer(write, interval=0.2)
    await report(1, 3)
    await report(2, 3)  # within the interval: dropped
    await report(5, None)  # total unknown: nothing to say
    await report(5, 0)
    await asyncio.sleep(0.25)
    await report(4, 3)  # more than the total (a rounding upstream): clamped
    assert written == [0.3333, 1.0]
