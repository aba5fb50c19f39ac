"""One NATS/JetStream connection per process, with the jobs stream and background reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger(__name__)

SESSION_SUBJECT = "aiat.jobs.session"
RENDER_SUBJECT = "aiat.jobs.render"
EVENTS_PREFIX = "aiat.events"


class NatsClient:
    """Connects (retrying in the background when NATS is down) and ensures the jobs stream."""

    def __init__(self, url: str, stream: str, duplicate_window: float = 600.0, replicas: int = 1) -> None:
        self.url = url
        self.stream = stream
        self.duplicate_window = duplicate_window
        self.replicas = replicas
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    @property
    def connected(self) -> bool:
        """True while the connection is up and the stream is known to exist."""
        return self.nc is not None and self.nc.is_connected and self.ready.is_set()

    async def connect(self, wait: float | None = None) -> None:
        """Start connecting in the background; optionally wait up to `wait` seconds for it."""
        if self._task is None:
            self._task = asyncio.create_task(self._connect_loop())
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), wait)

    async def _connect_loop(self) -> None:
        delay = 0.2
        while True:
            nc: Client | None = None
            try:
                nc = await nats.connect(
                    self.url,
                    name="aiat",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                )
                js = nc.jetstream()
                await ensure_stream(js, self.stream, self.duplicate_window, self.replicas)
                self.nc, self.js = nc, js
                self.ready.set()
                log.info("connected to NATS at %s", self.url)
                return
            except Exception as exc:  # any failure: keep retrying, the outbox holds the jobs
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.close()
                log.warning("NATS not reachable at %s (%s); retrying in %.1fs", self.url, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def ensure_stream(self) -> None:
        """Create the jobs stream again if it went away (NATS restarted with an empty store)."""
        if self.js is None:
            raise RuntimeError("not connected to NATS yet")
        await ensure_stream(self.js, self.stream, self.duplicate_window, self.replicas)
        log.info("jobs stream %s ensured", self.stream)

    async def stream_status(self, timeout: float = 2.0) -> str:
        """ "ok" when connected and the jobs stream exists (re-created here if it was lost), else why not."""
        if not self.connected or self.js is None:
            return "error: not connected"
        try:
            await asyncio.wait_for(self.js.stream_info(self.stream), timeout)
            return "ok"
        except NotFoundError:
            pass
        except Exception:
            return "error: the jobs stream does not answer"
        try:
            await asyncio.wait_for(self.ensure_stream(), timeout)
            return "ok"
        except Exception as exc:
            log.warning("jobs stream %s is missing and could not be created: %s", self.stream, exc)
            return "error: the jobs stream is missing"

    async def close(self) -> None:
        """Stop reconnecting and drain the connection."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()


async def ensure_stream(js: JetStreamContext, name: str, duplicate_window: float, replicas: int = 1) -> None:
    """Create the work-queue jobs stream, or bring an existing one to this config (idempotent).

    `replicas` is the stream's copies across a JetStream cluster (3 in production: survives one
    server down); the worker's durable consumers inherit it. An existing stream with another replica
    count or limit is updated in place; a count the cluster cannot place fails here, loudly.
    """
    config = StreamConfig(
        name=name,
        subjects=["aiat.jobs.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=duplicate_window,
        max_age=7 * 24 * 3600.0,
        num_replicas=replicas,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
