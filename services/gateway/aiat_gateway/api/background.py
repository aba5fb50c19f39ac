"""Work a route leaves for after its response: publishing the job it committed and its event."""

from __future__ import annotations

from aiat_gateway import events, outbox
from aiat_gateway.api.deps import AppState
from aiat_gateway.lifecycle import Transition


async def publish_now(state: AppState, row_id: int) -> None:
    """Publish a just-committed job; if NATS is down the worker's reconciler publishes it later."""
    js = state.nats.js if state.nats.connected else None
    await outbox.flush(state.session_factory, js, ids=[row_id], ensure_stream=state.nats.ensure_stream)


async def publish_transition(state: AppState, transition: Transition) -> None:
    """Publish the job a transition enqueued, then its event (best effort)."""
    if transition.outbox_id is not None:
        await publish_now(state, transition.outbox_id)
    await events.publish(state.nats.nc, transition.event)
