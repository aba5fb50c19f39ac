"""A durable JetStream pull consumer: explicit ack, heartbeats, bounded redelivery with backoff, term()."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError, ServiceUnavailableError

from aiat_gateway.worker.errors import StepError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)


@dataclass
class ConsumerSpec(Generic[M]):
    """One job kind: its subject, durable name, message type and what to do with it."""

    durable: str
    subject: str
    message_type: type[M]
    handle: Callable[[M, int], Awaitable[None]]
    give_up: Callable[[M, str], Awaitable[None]]
    touch: Callable[[M], Awaitable[None]]


@dataclass
class Outage:
    """A dependency outage (the database): how to recognise its errors and tell when it is over."""

    matches: Callable[[BaseException], bool]
    over: Callable[[], Awaitable[bool]]


def backoff(attempt: int, base: float, cap: float) -> float:
    """Delay before redelivery number `attempt + 1`: exponential, capped."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


class JobConsumer(Generic[M]):
    """Pulls jobs of one kind and runs up to `concurrency` of them at a time."""

    # Reruns after an outage wait this long (doubling, capped), and only so often before counting as a failure.
    outage_rerun_delay = 0.5
    outage_rerun_delay_cap = 30.0
    max_outage_reruns = 10

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        spec: ConsumerSpec[M],
        *,
        concurrency: int,
        ack_wait: float,
        max_deliver: int,
        backoff_base: float,
        backoff_cap: float,
        grace: float = 60.0,
        outage: Outage | None = None,
        ensure_stream: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.js = js
        self.ensure_stream = ensure_stream
        self.stream = stream
        self.spec = spec
        self.concurrency = concurrency
        self.ack_wait = ack_wait
        self.max_deliver = max_deliver
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.grace = grace
        self.outage = outage
        self._running: set[asyncio.Task[None]] = set()
        self.subscribed = False

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and dispatch until `stop` is set, then wait for the jobs in hand."""
        config = ConsumerConfig(
            durable_name=self.spec.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
            max_ack_pending=max(self.concurrency * 4, 16),
            filter_subject=self.spec.subject,
        )
        sub: JetStreamContext.PullSubscription | None = await self._subscribe(config)
        log.info("consuming %s as %s", self.spec.subject, self.spec.durable)
        while not stop.is_set():
            free = self.concurrency - len(self._running)
            if free <= 0:
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait({*self._running, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                continue
            if sub is None:
                sub = await self._resubscribe(config)
                continue
            try:
                msgs = await sub.fetch(batch=free, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                continue
            except (ServiceUnavailableError, NotFoundError) as exc:
                # No stream or no consumer answers (NATS restarted with an empty store): make them again.
                log.warning("fetch on %s: %r; creating the stream and consumer again", self.spec.subject, exc)
                self.subscribed = False
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
                sub = None
                continue
            except Exception as exc:  # connection trouble: back off, the client reconnects
                log.warning("fetch on %s failed: %s", self.spec.subject, exc)
                await asyncio.sleep(1.0)
                continue
            for msg in msgs:
                task = asyncio.create_task(self.process(msg))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        if self._running:
            # Let jobs in hand finish within the grace period; hand the rest back (nak) so another
            # replica picks them up at once instead of after ack_wait.
            _, unfinished = await asyncio.wait(self._running, timeout=self.grace)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        self.subscribed = False
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _subscribe(self, config: ConsumerConfig) -> JetStreamContext.PullSubscription:
        """Create or update the durable consumer and pull from it."""
        # add_consumer creates or updates: changed ack_wait/max_deliver settings take effect on restart.
        await self.js.add_consumer(self.stream, config)
        sub = await self.js.pull_subscribe(
            self.spec.subject, durable=self.spec.durable, stream=self.stream, config=config
        )
        self.subscribed = True
        return sub

    async def _resubscribe(self, config: ConsumerConfig) -> JetStreamContext.PullSubscription | None:
        """The stream (when this consumer was given `ensure_stream`) and the consumer made again, or None."""
        try:
            if self.ensure_stream is not None:
                await self.ensure_stream()
            return await self._subscribe(config)
        except Exception as exc:  # NATS still gone: the fetch loop comes back here
            log.warning("re-creating the consumer %s failed: %s", self.spec.durable, exc)
            await asyncio.sleep(1.0)
            return None

    async def process(self, msg: Msg) -> None:
        """Handle one message and settle it: ack, nak with backoff, or term."""
        attempt = msg.metadata.num_delivered
        try:
            job = self.spec.message_type.FromString(msg.data)
        except DecodeError:
            log.error("poison message on %s (not a %s); terminating it", msg.subject, self.spec.message_type)
            await msg.term()
            return
        heartbeat = asyncio.create_task(self._heartbeat(msg, job))
        try:
            await self._handle_through_outages(msg, job, attempt)
        except StepError as exc:
            await self._retry_or_give_up(msg, job, attempt, str(exc))
            return
        except asyncio.CancelledError:
            log.warning("job on %s interrupted by shutdown; handing it back", msg.subject)
            with contextlib.suppress(Exception):
                await asyncio.shield(msg.nak())
            raise
        except Exception as exc:  # a bug or an unexpected failure: retry, bounded
            log.exception("job on %s failed unexpectedly", msg.subject)
            await self._retry_or_give_up(msg, job, attempt, f"internal error: {exc}")
            return
        finally:
            heartbeat.cancel()
        await msg.ack()

    async def _handle_through_outages(self, msg: Msg, job: M, attempt: int) -> None:
        """Run the job; one hit by an outage waits for its end (the heartbeat keeps the message) and runs again.

        An outage is nobody's fault: it must neither use up the job's attempts nor fail it (failing needs
        the database anyway), and waiting here beats a redelivery that finds the database still down.
        """
        reruns = 0
        while True:
            try:
                await self.spec.handle(job, attempt)
                return
            except Exception as exc:
                if self.outage is None or not self.outage.matches(exc):
                    raise
                if reruns >= self.max_outage_reruns:
                    raise  # the check says up but the job keeps failing: a failure, with bounded attempts
                log.warning("job on %s hit a database outage (%s); waiting for it to end", msg.subject, exc)
            polls = 0
            while not await self.outage.over():
                await asyncio.sleep(min(5.0, 0.5 * 2**polls))
                polls += 1
            # Never at once: the check (SELECT 1) may pass where the job's own statement does not.
            await asyncio.sleep(min(self.outage_rerun_delay_cap, self.outage_rerun_delay * 2**reruns))
            reruns += 1
            log.info("database back; running the job on %s again", msg.subject)

    async def _retry_or_give_up(self, msg: Msg, job: M, attempt: int, reason: str) -> None:
        if attempt >= self.max_deliver:
            await self.spec.give_up(job, f"{reason} (gave up after {attempt} attempts)")
            await msg.term()
            return
        delay = backoff(attempt, self.backoff_base, self.backoff_cap)
        log.warning(
            "job on %s: attempt %d failed (%s); retrying in %.0fs", msg.subject, attempt, reason, delay
        )
        await msg.nak(delay=delay)

    async def _heartbeat(self, msg: Msg, job: M) -> None:
        interval = max(self.ack_wait / 4, 0.5)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await msg.in_progress()
                await self.spec.touch(job)
