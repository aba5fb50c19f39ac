"""The analyzer through a real in-process gRPC server on port 0, with the real lexical engine.

The LLM engines through the same service: test_llm_llama.py.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.common.v1 import transcript_pb2
from aiat_analyzer.engine import AnalyzeOptions, build_engine
from aiat_analyzer.plan import PlanItem
from aiat_analyzer.sentences import transcript_sentences
from aiat_analyzer.server import SERVICE_NAME, build_app
from aiat_analyzer.settings import AnalyzerSettings

Server = Callable[..., Any]


@pytest.fixture
async def serve() -> AsyncIterator[Server]:
    """Start servers on port 0 with the given settings overrides and engine; stop them afterwards."""
    apps = []

    async def start(engine: Any = None, **overrides: Any) -> tuple[str, Any]:
        settings = AnalyzerSettings(**{"engine": "lexical", "port": 0, **overrides})
        app, servicer = build_app(settings)
        port = await app.start()
        servicer.engine = engine if engine is not None else build_engine(settings)
        await app.set_serving(True)
        apps.append(app)
        return f"127.0.0.1:{port}", app

    yield start
    for app in apps:
        await app.stop(0)


async def analyze(
    target: str, request: analyzer_pb2.AnalyzeRequest
) -> tuple[list[transcript_pb2.Progress], list[analyzer_pb2.Plan]]:
    """All events of one Analyze call, split into progress and plan events."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = analyzer_pb2_grpc.AnalyzerServiceStub(channel)
        progress: list[transcript_pb2.Progress] = []
        plans: list[analyzer_pb2.Plan] = []
        async for event in stub.Analyze(request, timeout=60):
            if event.HasField("plan"):
                plans.append(event.plan)
            else:
                assert not plans, "progress after the plan"
                progress.append(event.progress)
        return progress, plans


async def test_plan_keeps_the_invariants(serve: Server, lecture: transcript_pb2.Transcript) -> None:
    """Sentence-end boundaries, length range, no overlap, inside the media, max_snippets; progress first."""
    target, _ = await serve()
    options = analyzer_pb2.AnalyzeOptions(min_seconds=20, max_seconds=90)
    progress, plans = await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=lecture, options=options))
    assert progress and len(plans) == 1
    plan = plans[0]
    assert plan.engine == "lexical"
    sentences = transcript_sentences(lecture)
    starts, ends = {s.start for s in sentences}, {s.end for s in sentences}
    snippets = list(plan.snippets)
    assert len(snippets) == 3, [(s.start, s.end, s.name) for s in snippets]
    for prev, nxt in itertools.pairwise(snippets):
        assert prev.end <= nxt.start
    for s in snippets:
        assert s.start in starts and s.end in ends
        assert 20 <= s.end - s.start <= 90
        assert 0 <= s.start < s.end <= lecture.duration
        assert s.name and s.summary and 0 <= s.score <= 1 and s.reason
    names = " ".join(s.name.lower() for s in snippets)
    assert "photosynthesis" in names and "rocket" in names and "bread" in names

    options = analyzer_pb2.AnalyzeOptions(
        min_seconds=20, max_seconds=90, max_snippets=1, focus="rocket orbit"
    )
    _, plans = await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=lecture, options=options))
    assert len(plans[0].snippets) == 1 and "rocket" in plans[0].snippets[0].name.lower()


async def test_health_is_not_serving_until_the_engine_is_ready() -> None:
    """The health service reports NOT_SERVING between bind and engine load."""
    app, _ = build_app(AnalyzerSettings(port=0))
    port = await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            resp = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
            assert resp.status == health_pb2.HealthCheckResponse.NOT_SERVING
            await app.set_serving(True)
            resp = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await app.stop(0)


@pytest.mark.parametrize(
    ("transcript", "overrides"),
    [
        (transcript_pb2.Transcript(), {}),
        (transcript_pb2.Transcript(segments=[transcript_pb2.Segment(text="  ")]), {}),
        (None, {"max_words": 50}),
    ],
)
async def test_bad_transcripts_are_invalid_argument(
    serve: Server, lecture: transcript_pb2.Transcript, transcript: Any, overrides: dict[str, Any]
) -> None:
    """Empty transcripts and ones over the word limit end with INVALID_ARGUMENT."""
    target, _ = await serve(**overrides)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=transcript or lecture))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_impossible_length_range_is_invalid_argument(
    serve: Server, lecture: transcript_pb2.Transcript
) -> None:
    """min_seconds at or above max_seconds is rejected."""
    target, _ = await serve()
    options = analyzer_pb2.AnalyzeOptions(min_seconds=100, max_seconds=50)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=lecture, options=options))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class BlockingEngine:
    """Transport-only fake: holds its slot until released, to fill the queue."""

    name = "blocking"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    def analyze(
        self, transcript: Any, options: AnalyzeOptions, progress: Any, cancel: threading.Event
    ) -> Sequence[PlanItem]:
        """Wait for release (or cancellation), then return an empty plan."""
        self.started.set()
        while not self.release.wait(0.05) and not cancel.is_set():
            pass
        return []

    def close(self) -> None:
        """Nothing to release."""


async def test_overload_is_resource_exhausted(serve: Server, lecture: transcript_pb2.Transcript) -> None:
    """With one slot and no queue, a second concurrent call gets RESOURCE_EXHAUSTED."""
    engine = BlockingEngine()
    target, _ = await serve(engine=engine, max_concurrency=1, max_queue=0)
    first = asyncio.create_task(analyze(target, analyzer_pb2.AnalyzeRequest(transcript=lecture)))
    await asyncio.to_thread(engine.started.wait, 10)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=lecture))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Bad input is answered at once even while the replica is full: it never queues for a slot.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=transcript_pb2.Transcript()))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    engine.release.set()
    _, plans = await first
    assert len(plans) == 1
