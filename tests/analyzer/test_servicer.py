"""The analyzer servicer through a real in-process gRPC server on port 0, with the real lexical engine.

The LLM engines through the same service: llm/test_llama.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.common.v1 import transcript_pb2
from aiat.media import ffmpeg_exe
from aiat_analyzer.factory import build_engine, request_limits
from aiat_analyzer.pipeline import AnalyzeOptions, AnalyzerEngine
from aiat_analyzer.plan import Advisory, PlanItem
from aiat_analyzer.server import create_app
from aiat_analyzer.servicer import count_words, to_plan
from aiat_analyzer.settings import AnalyzerSettings
from tests.analyzer.lectures import transcript_sentences
from tests.fixtures.grpc_app import serving

Server = Callable[..., Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Server]:
    """Start servers on port 0 with the given settings overrides and engine; stop them afterwards."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(engine: AnalyzerEngine | None = None, **overrides: Any) -> str:
            settings = AnalyzerSettings(**{"engine": "lexical", "port": 0, **overrides})
            engine = engine if engine is not None else build_engine(settings)
            port = await stack.enter_async_context(serving(create_app(settings, engine), engine))
            return f"127.0.0.1:{port}"

        yield start


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
    target = await serve()
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
    target = await serve(**overrides)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=transcript or lecture))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_impossible_length_range_is_invalid_argument(
    serve: Server, lecture: transcript_pb2.Transcript
) -> None:
    """min_seconds at or above max_seconds is rejected."""
    target = await serve()
    options = analyzer_pb2.AnalyzeOptions(min_seconds=100, max_seconds=50)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=lecture, options=options))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class BlockingEngine:
    """Transport-only fake: holds its slot until released, to fill the queue."""

    name = "blocking"
    loaded = True

    def __init__(self) -> None:
        self.limits = request_limits(AnalyzerSettings())
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

    def load(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to release."""


async def test_overload_is_resource_exhausted(serve: Server, lecture: transcript_pb2.Transcript) -> None:
    """With one slot and no queue, a second concurrent call gets RESOURCE_EXHAUSTED."""
    engine = BlockingEngine()
    target = await serve(engine=engine, max_concurrency=1, max_queue=0)
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


def test_words_are_counted_with_or_without_timings(lecture: transcript_pb2.Transcript) -> None:
    """Timed words where a segment has them, the text's words where it has none."""
    untimed = transcript_pb2.Segment(start=0, end=4, text=" four words right here ")
    assert count_words(transcript_pb2.Transcript(segments=[untimed])) == 4
    n = sum(len(s.words) for s in lecture.segments)
    assert count_words(lecture) == n
    lecture.segments.append(untimed)
    assert count_words(lecture) == n + 4


def test_plan_message_carries_every_item_field() -> None:
    """to_plan copies each item into a PlannedSnippet, in order, with the engine name."""
    items = [PlanItem(0.0, 30.0, "A", "first", 0.25, "why a"), PlanItem(30.0, 75.5, "B", "", 1.0, "")]
    plan = to_plan(items, "lexical")
    assert plan.engine == "lexical"
    assert [(s.name, s.summary, s.start, s.end, s.score, s.reason) for s in plan.snippets] == [
        ("A", "first", 0.0, 30.0, 0.25, "why a"),
        ("B", "", 30.0, 75.5, 1.0, ""),
    ]


async def test_options_left_at_zero_take_the_configured_defaults(
    serve: Server, lecture: transcript_pb2.Transcript
) -> None:
    """The servicer resolves request options against the engine's limits: here a 20-40 s default range."""
    target = await serve(min_seconds=20, max_seconds=40)
    _, plans = await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=lecture))
    assert plans[0].snippets
    assert all(20 <= s.end - s.start <= 40 for s in plans[0].snippets)


async def test_calls_before_the_engine_loaded_are_unavailable_at_once(
    lecture: transcript_pb2.Transcript,
) -> None:
    """A replica reached before load() finished answers UNAVAILABLE without taking a slot, then works."""
    settings = AnalyzerSettings(engine="lexical", port=0)
    engine = build_engine(settings)
    async with serving(create_app(settings, engine)) as port:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await analyze(f"127.0.0.1:{port}", analyzer_pb2.AnalyzeRequest(transcript=lecture))
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        engine.load()
        _, plans = await analyze(f"127.0.0.1:{port}", analyzer_pb2.AnalyzeRequest(transcript=lecture))
        assert len(plans) == 1


async def test_slides_in_the_request_shape_the_plan_and_come_back(
    serve: Server, lecture: transcript_pb2.Transcript
) -> None:
    """Given slides are evidence (a cut lands at a slide change) and return in the plan; no media path needed."""
    target = await serve(slide_weight=50.0, cue_weight=0.0)
    sentences = transcript_sentences(lecture)
    change = sentences[5].start  # mid-topic: only the slide says so
    slides = [analyzer_pb2.Slide(start=0.0, title="Plants"), analyzer_pb2.Slide(start=change, title="Leaves")]
    options = analyzer_pb2.AnalyzeOptions(min_seconds=10, max_seconds=90)
    request = analyzer_pb2.AnalyzeRequest(transcript=lecture, options=options, slides=slides)
    _, plans = await analyze(target, request)
    assert [s.title for s in plans[0].slides] == ["Plants", "Leaves"]
    assert change in {s.start for s in plans[0].snippets}
    _, without = await analyze(target, analyzer_pb2.AnalyzeRequest(transcript=lecture, options=options))
    assert change not in {s.start for s in without[0].snippets} and not without[0].slides


async def test_a_media_path_outside_the_store_is_invalid(
    serve: Server, lecture: transcript_pb2.Transcript
) -> None:
    """The slide step resolves media_path inside the store only: '..' is INVALID_ARGUMENT."""
    target = await serve()
    request = analyzer_pb2.AnalyzeRequest(transcript=lecture, media_path="../etc/passwd")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await analyze(target, request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_advisories_reach_the_plan_message() -> None:
    """An item's advisories become PlannedSnippet.advisories; an unset fix stays unset."""
    item = PlanItem(start=5.0, end=50.0, name="x", advisories=(Advisory("opens_with_reference", "m", 2.0),))
    snippet = to_plan([item], "lexical").snippets[0]
    assert snippet.advisories[0].kind == "opens_with_reference"
    assert snippet.advisories[0].suggested_start == 2.0 and not snippet.advisories[0].HasField(
        "suggested_end"
    )


@pytest.fixture
def store_with_video(tmp_path: Path) -> Path:
    """A data dir whose media store holds a 6 s test-pattern video at sessions/lecture.mp4."""
    video = tmp_path / "media" / "sessions" / "lecture.mp4"
    video.parent.mkdir(parents=True)
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=320x180:r=5:d=6", "-c:v", "libx264",
         "-preset", "ultrafast", str(video)],
        check=True,
    )  # fmt: skip
    return tmp_path


async def test_progress_over_slide_detection_and_analysis_never_runs_back(
    serve: Server, lecture: transcript_pb2.Transcript, store_with_video: Path
) -> None:
    """With a video, slides take the first half of one bar and the analysis the second: done/total only grows."""
    target = await serve(data_dir=store_with_video, slide_ocr=False)
    request = analyzer_pb2.AnalyzeRequest(
        transcript=lecture,
        options=analyzer_pb2.AnalyzeOptions(min_seconds=20, max_seconds=90),
        media_path="sessions/lecture.mp4",
    )
    progress, plans = await analyze(target, request)
    assert plans and {"slides", "labelling"} <= {p.stage for p in progress}
    fractions = [p.done / p.total for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert max(f for p, f in zip(progress, fractions, strict=True) if p.stage == "slides") <= 0.5
