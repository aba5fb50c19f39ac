"""Bounded concurrency per replica, with the queue depth exported for autoscaling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from prometheus_client import Gauge

from aiat.errors import Overloaded

QUEUE_DEPTH = Gauge("aiat_queue_depth", "Requests waiting for a work slot", ["service"])
IN_FLIGHT = Gauge("aiat_in_flight", "Requests holding a work slot", ["service"])


class ConcurrencyLimiter:
    """At most `max_concurrency` holders; at most `max_queue` waiters, beyond that Overloaded."""

    def __init__(self, service: str, max_concurrency: int, max_queue: int) -> None:
        self.service = service
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self._sem = asyncio.Semaphore(max_concurrency)
        self._waiting = 0
        self._queue_gauge = QUEUE_DEPTH.labels(service)
        self._in_flight_gauge = IN_FLIGHT.labels(service)
        self._in_flight = 0

    @property
    def waiting(self) -> int:
        """Requests queued for a slot."""
        return self._waiting

    @property
    def in_flight(self) -> int:
        """Requests holding a slot."""
        return self._in_flight

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one work slot for the body; raise Overloaded when the queue is already full."""
        if self._sem.locked() and self._waiting >= self.max_queue:
            raise Overloaded(
                f"{self.service} is busy: {self._in_flight} running, {self._waiting} queued; retry later"
            )
        self._waiting += 1
        self._queue_gauge.set(self._waiting)
        try:
            await self._sem.acquire()
        finally:
            self._waiting -= 1
            self._queue_gauge.set(self._waiting)
        self._in_flight += 1
        self._in_flight_gauge.set(self._in_flight)
        try:
            yield
        finally:
            self._in_flight -= 1
            self._in_flight_gauge.set(self._in_flight)
            self._sem.release()
