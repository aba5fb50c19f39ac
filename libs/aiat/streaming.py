"""Bridging blocking engine code (in a worker thread) to async gRPC streaming handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import grpc

from aiat.errors import Cancelled, EngineError
from aiat.limits import ConcurrencyLimiter

E = TypeVar("E")
R = TypeVar("R")
Emit = Callable[[E], None]

log = logging.getLogger(__name__)


class _Done:
    """Queued once the worker thread has returned."""


async def run_in_thread_streaming(work: Callable[[Emit[E], threading.Event], R]) -> AsyncIterator[E | R]:
    """Run `work(emit, cancel)` in a thread and yield what it emits, then its return value.

    If the consumer stops early (client gone, deadline, server shutdown) `cancel` is set so the
    work can stop between steps; the thread is awaited before this generator finishes.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[E | _Done] = asyncio.Queue()
    cancel = threading.Event()

    def emit(item: E) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled by the caller")
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def target() -> R:
        try:
            return work(emit, cancel)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _Done())

    future = loop.run_in_executor(None, target)
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _Done):
                break
            yield item
        yield await future
    finally:
        cancel.set()
        with contextlib.suppress(BaseException):
            await asyncio.shield(future)


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], exc: EngineError) -> None:
    """End the call with the status code of an engine error and its message."""
    await context.abort(exc.code, str(exc))


async def guarded_stream(
    context: grpc.aio.ServicerContext[Any, Any],
    limiter: ConcurrencyLimiter,
    events: Callable[[], AsyncIterator[E]],
) -> AsyncIterator[E]:
    """Yield from `events()` inside a limiter slot, mapping EngineError to its gRPC status.

    The inner stream is closed explicitly, so on cancellation its worker thread is told to
    stop before the slot is released, not whenever the garbage collector gets to it.
    """
    try:
        async with limiter.slot():
            stream = events()
            try:
                async for event in stream:
                    yield event
            finally:
                close = getattr(stream, "aclose", None)
                if close is not None:
                    await close()
    except EngineError as exc:
        await abort_with(context, exc)
    except (asyncio.CancelledError, grpc.aio.AbortError):
        raise
    except Exception:
        log.exception("%s: unexpected error", limiter.service)
        await context.abort(
            grpc.StatusCode.INTERNAL, f"{limiter.service}: internal error (see the service log)"
        )
