"""The worker's gRPC channels spread calls over every replica behind one target (round_robin)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from aiat.analyzer.v1 import analyzer_pb2
from aiat.common.v1 import transcript_pb2
from aiat_analyzer.factory import build_engine
from aiat_analyzer.pipeline import AnalyzeOptions, PipelineEngine, ProgressFn
from aiat_analyzer.plan import PlanItem
from aiat_analyzer.server import create_app
from aiat_analyzer.settings import AnalyzerSettings
from aiat_gateway.worker.clients import ServiceClients
from tests.fixtures.grpc_app import serving
from tests.gateway import seed

CALLS = 12


class CountingEngine:
    """The real lexical engine, counting the analyses this replica ran."""

    def __init__(self, inner: PipelineEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.limits = inner.limits
        self.calls = 0

    @property
    def loaded(self) -> bool:
        """Whether the real engine is loaded."""
        return self.inner.loaded

    def analyze(
        self,
        transcript: transcript_pb2.Transcript,
        options: AnalyzeOptions,
        progress: ProgressFn,
        cancel: threading.Event,
    ) -> Sequence[PlanItem]:
        """Count, then analyze for real."""
        self.calls += 1
        return self.inner.analyze(transcript, options, progress, cancel)

    def load(self) -> None:
        """Nothing to load for the lexical engine."""
        self.inner.load()

    def close(self) -> None:
        """Close the real engine."""
        self.inner.close()


@asynccontextmanager
async def two_replicas() -> AsyncIterator[tuple[str, list[CountingEngine]]]:
    """Two real analyzer servers (lexical engine) behind one multi-address gRPC target."""
    settings = AnalyzerSettings.model_validate(
        {"engine": "lexical", "port": 0, "min_seconds": 5, "max_seconds": 30}
    )
    engines = [CountingEngine(build_engine(settings)) for _ in range(2)]
    async with AsyncExitStack() as stack:
        ports = [await stack.enter_async_context(serving(create_app(settings, e), e)) for e in engines]
        yield "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in ports), engines


async def analyze_n(target: str, lb_policy: str) -> None:
    clients = ServiceClients("127.0.0.1:1", target, "127.0.0.1:1", ready_wait=5, lb_policy=lb_policy)
    try:
        request = analyzer_pb2.AnalyzeRequest(transcript=seed.sample_transcript(60.0))
        for _ in range(CALLS):
            plan = await clients.analyze(request, timeout=30)
            assert plan.snippets
    finally:
        await clients.close()


async def test_calls_are_spread_over_every_replica_behind_one_target() -> None:
    async with two_replicas() as (target, engines):
        await analyze_n(target, "round_robin")
    counts = [e.calls for e in engines]
    assert sum(counts) == CALLS
    assert min(counts) >= CALLS // 2 - 1, counts  # round robin: an even split (± the first pick)


async def test_a_pick_first_channel_pins_every_call_to_one_replica() -> None:
    """The control: without round_robin the same test target sends everything to one server."""
    async with two_replicas() as (target, engines):
        await analyze_n(target, "pick_first")
    assert sorted(e.calls for e in engines) == [0, CALLS]


@pytest.mark.parametrize("scheme", ["", "dns:///"])
async def test_plain_and_dns_targets_work(scheme: str) -> None:
    settings = AnalyzerSettings.model_validate(
        {"engine": "lexical", "port": 0, "min_seconds": 5, "max_seconds": 30}
    )
    engine = CountingEngine(build_engine(settings))
    async with serving(create_app(settings, engine), engine) as port:
        await analyze_n(f"{scheme}localhost:{port}", "round_robin")
    assert engine.calls == CALLS
