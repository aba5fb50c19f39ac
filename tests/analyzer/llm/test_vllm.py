"""The vLLM engine's HTTP client against a fake OpenAI-compatible server on loopback (no GPU here)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from aiat.common.v1 import transcript_pb2
from aiat.errors import EngineUnavailable, StartupError
from aiat_analyzer.factory import build_engine
from aiat_analyzer.pipeline import PipelineEngine, build_document
from aiat_analyzer.plan import PlanItem
from aiat_analyzer.settings import AnalyzerSettings
from tests.analyzer.lectures import transcript_sentences
from tests.fakes.fake_openai import FakeOpenAI, completion, fake_openai_server

MODEL = "Qwen/Qwen2.5-7B-Instruct"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fake server that serves MODEL."""
    with fake_openai_server([MODEL]) as server:
        yield server


def settings_for(fake: FakeOpenAI, **overrides: Any) -> AnalyzerSettings:
    """vllm engine settings pointing at the fake server."""
    values: dict[str, Any] = {
        "engine": "vllm",
        "vllm_url": fake.url,
        "vllm_startup_timeout": 5,
        "min_seconds": 20,
        "max_seconds": 90,
        "llm_places_boundaries": False,  # these tests count labelling calls; placement: test_placement.py
        **overrides,
    }
    return AnalyzerSettings(**values)


def loaded(settings: AnalyzerSettings) -> PipelineEngine:
    """The engine of the settings, loaded as the server loads it (waits for the server to list the model)."""
    engine = build_engine(settings)
    engine.load()
    return engine


def run(engine: PipelineEngine, transcript: transcript_pb2.Transcript, **options: Any) -> list[PlanItem]:
    """analyze() with request options resolved as the servicer does."""
    resolved = engine.limits.resolve(**options)
    return engine.analyze(transcript, resolved, lambda *_: None, threading.Event())


def assert_valid(items: list[PlanItem], transcript: transcript_pb2.Transcript) -> None:
    """The plan invariants: sentence bounds, range, order, inside the media, labels present."""
    sentences = transcript_sentences(transcript)
    starts, ends = {s.start for s in sentences}, {s.end for s in sentences}
    assert items
    for prev, nxt in itertools.pairwise(items):
        assert prev.end <= nxt.start
    for it in items:
        assert it.start in starts and it.end in ends
        assert 20 <= it.end - it.start <= 90
        assert 0 <= it.start < it.end <= transcript.duration
        assert it.name and 0 <= it.score <= 1


def test_requests_use_json_schema_and_the_options(
    fake: FakeOpenAI, lecture: transcript_pb2.Transcript
) -> None:
    """One request per window: the served model, json_schema output, temperature 0, focus and language."""
    settings = settings_for(fake)
    engine = loaded(settings)
    try:
        items = run(engine, lecture, focus="rocket orbit", language="de", title="Physik 1")
    finally:
        engine.close()
    assert_valid(items, lecture)
    assert len(fake.requests) == 1
    body = fake.requests[0]
    assert body["model"] == MODEL and body["temperature"] == 0.0
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["json_schema"]["schema"]
    assert schema["properties"]["segments"]["minItems"] == 3 == schema["properties"]["segments"]["maxItems"]
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert "focus: rocket orbit" in system and "in German" in system
    assert "Physik 1" in user and "photosynthesis" in user.lower()
    assert body["max_tokens"] <= settings.max_tokens
    names = " ".join(it.name.lower() for it in items)
    assert "photosynthesis" in names and "rocket" in names and "bread" in names


def test_windows_go_out_in_parallel_with_context(
    fake: FakeOpenAI, lecture: transcript_pb2.Transcript
) -> None:
    """window=1: one request per candidate, each after the first shows the previous segment as context."""
    settings = settings_for(fake, window=1)
    engine = loaded(settings)
    try:
        items = run(engine, lecture)
    finally:
        engine.close()
    assert_valid(items, lecture)
    assert len(fake.requests) == 3
    with_context = [r for r in fake.requests if "Previous segment" in r["messages"][1]["content"]]
    assert len(with_context) == 2


def test_invalid_output_is_retried_with_a_correction(
    fake: FakeOpenAI, lecture: transcript_pb2.Transcript
) -> None:
    """A garbage answer is not passed on: the client asks again, quoting the problem."""
    fake.queue.append(lambda body: (200, completion("Sure! Here are the segments: segment one is about")))
    settings = settings_for(fake)
    engine = loaded(settings)
    try:
        items = run(engine, lecture)
    finally:
        engine.close()
    assert_valid(items, lecture)
    assert len(fake.requests) == 2
    retry = fake.requests[1]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert "not usable" in retry[-1]["content"]
    assert "photosynthesis" in " ".join(it.name.lower() for it in items)


def test_two_bad_answers_fall_back_to_extractive_labels(
    fake: FakeOpenAI, lecture: transcript_pb2.Transcript
) -> None:
    """Truncated, then schema-less answers: the window gets the extractive labels, still a valid plan."""
    fake.queue.append(lambda body: (200, completion('{"segments": [{"id": 1, "na', finish_reason="length")))
    fake.queue.append(lambda body: (200, completion(json.dumps({"segments": [{"id": 1, "title": ""}]}))))
    settings = settings_for(fake)
    engine = loaded(settings)
    try:
        items = run(engine, lecture)
    finally:
        engine.close()
    assert_valid(items, lecture)
    assert len(fake.requests) == 2
    assert not any(it.reason.startswith("model score") for it in items)  # the extractive labels


def test_merge_and_drop_follow_the_model(fake: FakeOpenAI, lecture: transcript_pb2.Transcript) -> None:
    """With merging on, same_topic merges a candidate into the previous one; keep=false drops it."""

    def answer(body: dict[str, Any]) -> tuple[int, Any]:
        entries = [
            {
                "id": 1,
                "name": "Plants",
                "summary": "s",
                "same_topic": False,
                "keep": True,
                "score": 8,
            },
            {
                "id": 2,
                "name": "Rockets",
                "summary": "s",
                "same_topic": True,
                "keep": True,
                "score": 9,
            },
            {
                "id": 3,
                "name": "Bread",
                "summary": "s",
                "same_topic": False,
                "keep": False,
                "score": 1,
            },
        ]
        return 200, completion(json.dumps({"segments": entries}))

    fake.queue.append(answer)
    settings = settings_for(fake, max_seconds=200, merge=True)
    engine = loaded(settings)
    try:
        items = run(engine, lecture, min_seconds=20, max_seconds=200)
        options = engine.limits.resolve(min_seconds=20, max_seconds=200)
        candidates = engine.proposer.propose(build_document(lecture), options)
    finally:
        engine.close()
    assert len(candidates) == 3
    assert [(it.name, it.start, it.end) for it in items] == [
        ("Plants", candidates[0].start, candidates[1].end)
    ]
    assert items[0].reason.startswith("model score 8/10")


def test_server_errors_are_unavailable(fake: FakeOpenAI, lecture: transcript_pb2.Transcript) -> None:
    """Repeated 5xx answers end the request with EngineUnavailable (the worker retries later)."""
    fake.default = lambda body: (503, {"error": {"message": "overloaded"}})
    settings = settings_for(fake)
    engine = loaded(settings)
    try:
        with pytest.raises(EngineUnavailable, match="503"):
            run(engine, lecture)
    finally:
        engine.close()
    assert len(fake.requests) == 3  # one call and two transport retries


def test_start_up_checks_the_served_model(fake: FakeOpenAI) -> None:
    """A server that does not serve the configured model is a clear start-up error."""
    engine = build_engine(settings_for(fake, vllm_model="other/model"))
    try:
        with pytest.raises(EngineUnavailable, match="AIAT_ANALYZER_VLLM_MODEL") as err:
            engine.load()
    finally:
        engine.close()
    assert isinstance(err.value, StartupError)


def test_start_up_times_out_without_a_server() -> None:
    """No server at the URL: EngineUnavailable after the start-up timeout."""
    settings = AnalyzerSettings(engine="vllm", vllm_url="http://127.0.0.1:9/v1", vllm_startup_timeout=0.5)
    engine = build_engine(settings)  # cheap: nothing is contacted before load()
    try:
        with pytest.raises(EngineUnavailable, match="not ready") as err:
            engine.load()
    finally:
        engine.close()
    assert isinstance(err.value, StartupError)
