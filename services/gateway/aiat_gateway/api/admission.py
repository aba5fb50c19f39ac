"""Admission control: a bounded number of requests at work, a short bounded queue, and 503 for the rest."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class Admission:
    """ASGI middleware: at most `limit` requests run at once and `queue` more wait up to `wait` seconds.

    Beyond that the gateway sheds load with 503 + Retry-After at once instead of queueing without bound (a
    sync route would otherwise hold a thread waiting for a database connection long after its client has
    gone). A queued request whose client disconnects is dropped before it runs. `exempt` paths (the
    probes) skip the queue. A slot bounds the work before the first byte of the answer and is given back
    at `http.response.start`: a slow reader of a long download holds a connection, not a slot. `streamed`
    paths (uploads, whose body may take minutes) take one of `uploads` slots of their own instead, 503 when
    none is free; every request body that stalls `read_timeout` seconds between chunks gets 408.
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
        streamed: Collection[str] = (),
        uploads: int = 4,
        read_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.limit = limit
        self.queue = queue
        self.wait = wait
        self.retry_after = retry_after
        self.exempt = frozenset(exempt)
        self.streamed = frozenset(streamed)
        self.read_timeout = read_timeout
        self._slots = asyncio.Semaphore(limit)
        self._upload_slots = asyncio.Semaphore(uploads)
        self.waiting = 0
        self.shed = 0
        self.dropped = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.streamed:
            if self._upload_slots.locked():
                await self._refuse(send, "every upload slot taken")
                return
            await self._upload_slots.acquire()  # free: no await point gives it away
            try:
                await self._run(scope, receive, send)  # held to the end: the upload's work follows its body
            finally:
                self._upload_slots.release()
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
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._slots.release()

        try:
            await self._run(scope, receive, send, on_start=release)
        finally:
            release()

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        """Run the app with a deadline between request body chunks (408), calling `on_start` at the answer."""
        body_done = timed_out = started = False

        async def deadline_receive() -> Message:
            nonlocal body_done, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()  # waiting for a disconnect while answering: no deadline
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                # Answer now and tell the app the client left (as BodySizeLimit does for 413).
                timed_out = True
                if not started:
                    await self._timeout(send)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return
            if message["type"] == "http.response.start":
                started = True
                if on_start is not None:
                    on_start()
            await send(message)

        try:
            await self.app(scope, deadline_receive, guarded_send)
        except Exception:
            if not timed_out:
                raise

    async def _timeout(self, send: Send) -> None:
        body = json.dumps(
            {"detail": f"The request body stalled for {self.read_timeout:g} s; send it again"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

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
