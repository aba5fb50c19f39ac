"""The worker's DB access: short transactions off the event loop, and the events of its transitions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from nats.aio.client import Client
from sqlalchemy.orm import Session, sessionmaker

from aiat_gateway import events
from aiat_gateway.lifecycle import Transition

P = ParamSpec("P")
T = TypeVar("T")


class WorkerDb:
    """Runs each call in its own transaction in a thread; publishes a transition's event after commit."""

    def __init__(self, factory: sessionmaker[Session], nc: Client | None = None) -> None:
        self.factory = factory
        self.nc = nc

    async def run(self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run fn(db, *args, **kwargs) in its own transaction, committed on success."""

        def _txn() -> T:
            with self.factory.begin() as db:
                return fn(db, *args, **kwargs)

        return await asyncio.to_thread(_txn)

    async def transition(
        self, fn: Callable[Concatenate[Session, P], Transition], *args: P.args, **kwargs: P.kwargs
    ) -> Transition:
        """Apply a lifecycle transition; once committed, publish its event."""
        transition = await self.run(fn, *args, **kwargs)
        await self.publish(transition)
        return transition

    async def publish(self, transition: Transition) -> None:
        """Publish a committed transition's event (best effort)."""
        await events.publish(self.nc, transition.event)
