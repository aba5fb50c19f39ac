"""The real CPU LLM engine (llama.cpp, bundled Qwen2.5-Coder-1.5B Q4_K_M) on a short lecture."""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.common.v1 import transcript_pb2
from aiat.errors import EngineUnavailable
from aiat_analyzer.factory import build_engine
from aiat_analyzer.llm.llama import LlamaBackend
from aiat_analyzer.llm.placement import BoundaryPlacer
from aiat_analyzer.llm.refiner import LlmRefiner
from aiat_analyzer.pipeline import PipelineEngine, build_document
from aiat_analyzer.server import create_app
from aiat_analyzer.settings import AnalyzerSettings
from tests.analyzer.lectures import transcript_sentences
from tests.fixtures.grpc_app import serving

SETTINGS: dict[str, Any] = {"engine": "llama", "min_seconds": 20, "max_seconds": 90, "port": 0}


@pytest.fixture(scope="module")
def llama() -> Iterator[PipelineEngine]:
    """The llama engine, loaded once for this module (joins and verifies the model on first use)."""
    engine = build_engine(AnalyzerSettings(**SETTINGS))
    engine.load()
    yield engine
    engine.close()


@pytest.fixture
async def target(llama: PipelineEngine) -> AsyncIterator[str]:
    """A real in-process gRPC analyzer on port 0 serving the llama engine (loaded and closed by `llama`)."""
    async with serving(create_app(AnalyzerSettings(**SETTINGS), llama)) as port:
        yield f"127.0.0.1:{port}"


def backend_of(engine: PipelineEngine) -> LlamaBackend:
    """The engine's llama backend."""
    refiner = engine.refiner
    assert isinstance(refiner, LlmRefiner) and isinstance(refiner.backend, LlamaBackend)
    return refiner.backend


class Injected:
    """Fault injection on the real model: the first `bad` completions stream garbage, the rest are real."""

    def __init__(self, backend: LlamaBackend, bad: list[str]) -> None:
        self.backend = backend
        self.real = backend.llm.create_chat_completion
        self.bad = list(bad)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.bad:
            text = self.bad.pop(0)

            def garbage() -> Iterator[dict[str, Any]]:
                for i in range(0, len(text), 7):
                    yield {"choices": [{"delta": {"content": text[i : i + 7]}, "finish_reason": None}]}
                yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}

            return garbage()
        return self.real(**kwargs)

    def __enter__(self) -> Injected:
        self.backend.llm.create_chat_completion = self  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        self.backend.llm.create_chat_completion = self.real  # type: ignore[method-assign]


def assert_invariants(snippets: Any, transcript: transcript_pb2.Transcript) -> None:
    """Sentence-end bounds, the length range, no overlap, inside the media, every label present."""
    sentences = transcript_sentences(transcript)
    starts, ends = {s.start for s in sentences}, {s.end for s in sentences}
    assert snippets
    for prev, nxt in itertools.pairwise(snippets):
        assert prev.end <= nxt.start
    for s in snippets:
        assert s.start in starts and s.end in ends
        assert 20 <= s.end - s.start <= 90
        assert 0 <= s.start < s.end <= transcript.duration
        assert s.name.strip() and s.summary.strip() and 0 <= s.score <= 1


async def test_real_model_plan_through_the_service(target: str, lecture: transcript_pb2.Transcript) -> None:
    """The gRPC service with the real model: a valid plan whose labels name the lecture's topics."""
    request = analyzer_pb2.AnalyzeRequest(
        transcript=lecture, options=analyzer_pb2.AnalyzeOptions(min_seconds=20, max_seconds=90)
    )
    async with grpc.aio.insecure_channel(target) as channel:
        stub = analyzer_pb2_grpc.AnalyzerServiceStub(channel)
        events = [e async for e in stub.Analyze(request, timeout=300)]
    plans = [e.plan for e in events if e.HasField("plan")]
    assert len(plans) == 1 and events[-1].HasField("plan")
    assert any(e.progress.stage == "labelling" for e in events if e.HasField("progress"))
    plan = plans[0]
    assert plan.engine == "llama"
    assert_invariants(plan.snippets, lecture)
    text = " ".join(f"{s.name} {s.summary}".lower() for s in plan.snippets)
    found = [t for t in ("photosynth", "rocket", "bread") if t in text]
    assert len(found) >= 2, [(s.name, s.summary) for s in plan.snippets]
    assert all(s.reason.startswith("model score") for s in plan.snippets)  # labels came from the model


def test_malformed_output_is_retried_then_used(
    llama: PipelineEngine, lecture: transcript_pb2.Transcript
) -> None:
    """Garbage from the model is not passed on: the refiner asks again and uses the valid answer."""
    options = llama.limits.resolve()
    with Injected(backend_of(llama), ['Sure! ```json\n{"segments": [{"id": 1, "name": ']) as injected:
        items = llama.analyze(lecture, options, lambda *_: None, threading.Event())
    assert len(injected.calls) == 2
    retry = injected.calls[1]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert retry[-1]["content"].startswith("That answer was not usable")
    assert injected.calls[1]["response_format"]["type"] == "json_object"
    assert_invariants(items, lecture)
    assert all(it.reason.startswith("model score") for it in items)


def test_two_malformed_answers_fall_back_to_extractive(
    llama: PipelineEngine, lecture: transcript_pb2.Transcript
) -> None:
    """After the retry also fails, the window gets the extractive labels: still a valid plan."""
    options = llama.limits.resolve()
    with Injected(backend_of(llama), ["no json here", '{"segments": "nope"}']) as injected:
        items = llama.analyze(lecture, options, lambda *_: None, threading.Event())
    assert len(injected.calls) == 2
    assert_invariants(items, lecture)
    assert not any(it.reason.startswith("model score") for it in items)  # the extractive labels


def test_a_backend_answers_unavailable_until_loaded_and_after_close() -> None:
    """No model is read when the backend is built; a completion before load() is UNAVAILABLE, not a crash."""
    backend = LlamaBackend(model_path=Path("/nonexistent/model.gguf"))
    with pytest.raises(EngineUnavailable, match="not loaded"):
        backend.complete([], {}, 64, threading.Event())
    backend.close()  # safe when load() never ran
    with pytest.raises(EngineUnavailable, match="not loaded"):
        backend.complete([], {}, 64, threading.Event())


def test_the_real_model_places_cuts_when_enabled(
    llama: PipelineEngine, lecture: transcript_pb2.Transcript
) -> None:
    """Placement on the CPU engine (off by default there): the model answers the placement schema through
    llama.cpp's grammar and the step returns candidates covering the lecture in order (one call, no retry)."""
    on = build_engine(AnalyzerSettings(**SETTINGS, llm_places_boundaries=True)).refiner
    assert isinstance(on, LlmRefiner) and on.placer is not None
    placer = BoundaryPlacer(backend_of(llama), retries=0)
    options = llama.limits.resolve()
    doc = build_document(lecture)
    candidates = llama.proposer.propose(doc, options)
    steps: list[tuple[str, float, float]] = []
    with Injected(backend_of(llama), []) as injected:
        placed = placer.place(doc, candidates, options, lambda *a: steps.append(a), threading.Event())
    assert steps[-1] == ("placing", 1, 1) and len(injected.calls) == 1
    fmt = injected.calls[0]["response_format"]
    assert fmt["type"] == "json_object" and "prefixItems" in fmt["schema"]["properties"]["cuts"]
    assert placed[0].first == 0 and placed[-1].last == len(doc.sentences) - 1
    for prev, nxt in itertools.pairwise(placed):
        assert prev.last + 1 == nxt.first
