"""Admission control: a bounded number of requests at work, a short bounded queue, and 503 for the rest."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class Admission:
    """ASGI middleware: at most `limit` requests run at once and `queue` more wait up to `wait` seconds.

    Beyond that the gateway sheds load with 503 + Retry-After at once instead of queueing without bound (a
    sync route would otherwise hold a thread waiting for a database connection long after its client has
    gone). A queued request whose client disconnects is dropped before it runs. `exempt` paths (the
    probes) skip the queue.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        queue: int,
        wait: float,
        retry_after: int = 1,
        exempt: Collection[str] = (),
    ) -> None:
        self.app = app
        self.limit = limit
        self.queue = queue
        self.wait = wait
        self.retry_after = retry_after
        self.exempt = frozenset(exempt)
        self._slots = asyncio.Semaphore(limit)
        self.waiting = 0
        self.shed = 0
        self.dropped = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if not self._slots.locked():
            await self._slots.acquire()  # free: no await point gives it away
        elif self.waiting >= self.queue:
            await self._refuse(send, "queue full")
            return
        else:
            self.waiting += 1
            try:
                outcome, receive = await self._queue(receive)
            finally:
                self.waiting -= 1
            if outcome == "gone":
                self.dropped += 1
                return
            if outcome == "timeout":
                await self._refuse(send, "no slot within the queue wait")
                return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()

    async def _queue(self, receive: Receive) -> tuple[str, Receive]:
        """Wait for a slot while watching the connection; 'admitted' (holding a slot), 'gone' or 'timeout'."""
        buffered: list[Message] = []
        gone = False

        async def watch() -> None:
            # Reading the request is the only way an ASGI app learns its client left. Keep what is read for
            # the app; stop after a chunk of a streamed body rather than buffer it (the wait is bounded anyway).
            nonlocal gone
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone = True
                    return
                buffered.append(message)
                if message.get("more_body", False):
                    return

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        acquire = asyncio.ensure_future(self._slots.acquire())
        watcher = asyncio.ensure_future(watch())
        try:
            await asyncio.wait({acquire, watcher}, timeout=self.wait, return_when=asyncio.FIRST_COMPLETED)
            if not gone and not acquire.done() and watcher.done():
                # A streamed body stopped the watch: only the slot is left to wait for, within the same wait.
                await asyncio.wait({acquire}, timeout=max(0.0, deadline - loop.time()))
        finally:
            watcher.cancel()
            acquire.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            with contextlib.suppress(asyncio.CancelledError):
                await acquire
        holding = acquire.done() and not acquire.cancelled()
        if gone:
            if holding:
                self._slots.release()
            return "gone", receive
        if not holding:
            return "timeout", receive

        async def replay() -> Message:
            if buffered:
                return buffered.pop(0)
            return await receive()

        return "admitted", replay

    async def _refuse(self, send: Send, why: str) -> None:
        self.shed += 1
        if self.shed == 1 or self.shed % 100 == 0:
            log.warning("overloaded (%s): shedding requests with 503 (%d so far)", why, self.shed)
        body = json.dumps(
            {"detail": f"The gateway is at capacity; retry after {self.retry_after} s"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
