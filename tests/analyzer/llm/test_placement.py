"""The LLM places the proposer's cuts (vLLM client against the fake OpenAI server on loopback)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from aiat.common.v1 import transcript_pb2
from aiat_analyzer.factory import build_engine
from aiat_analyzer.llm.placement import BoundaryPlacer, apply, cuts_to_place, parse_choices
from aiat_analyzer.llm.refiner import LlmRefiner
from aiat_analyzer.pipeline import Candidate, PipelineEngine, build_document
from aiat_analyzer.plan import PlanItem, PlanParseError
from aiat_analyzer.settings import AnalyzerSettings
from tests.fakes.fake_openai import FakeOpenAI, Reply, completion, fake_openai_server

MODEL = "Qwen/Qwen2.5-7B-Instruct"
LIMITS: dict[str, Any] = {"min_seconds": 20, "max_seconds": 90}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fake vLLM server serving MODEL."""
    with fake_openai_server([MODEL]) as server:
        yield server


def engine_for(fake: FakeOpenAI, **overrides: Any) -> PipelineEngine:
    """The vllm engine with the default placement setting, loaded against the fake server."""
    settings = AnalyzerSettings(
        engine="vllm", vllm_url=fake.url, vllm_startup_timeout=5, **LIMITS, **overrides
    )
    engine = build_engine(settings)
    engine.load()
    return engine


def analyze(engine: PipelineEngine, lecture: transcript_pb2.Transcript) -> list[PlanItem]:
    """analyze() with the engine's default options; the engine closed after."""
    try:
        return engine.analyze(lecture, engine.limits.resolve(), lambda *_: None, threading.Event())
    finally:
        engine.close()


def is_placement(body: dict[str, Any]) -> bool:
    """Whether a request asks to place cuts (not to label segments)."""
    return "cuts" in body["response_format"]["json_schema"]["schema"]["properties"]


def move_first_cut_to(opening: str) -> Any:
    """A responder placing cut 1 at the position whose next sentence starts with `opening`."""

    def reply(body: dict[str, Any]) -> Reply:
        user = body["messages"][1]["content"]
        first = user.split("\n\nCut [2]")[0]
        picked = re.search(r"^  (\d+)\. .*\| \"" + re.escape(opening), first, flags=re.MULTILINE)
        assert picked, first
        cuts = re.findall(r"^Cut \[(\d+)\]", user, flags=re.MULTILINE)
        entries = [{"id": int(c), "position": 1, "keep": True} for c in cuts]
        current = re.findall(r"^  (\d+)\. at \S+ \(current\)", user, flags=re.MULTILINE)
        for entry, n in zip(entries, current, strict=True):
            entry["position"] = int(n)
        entries[0]["position"] = int(picked.group(1))
        return 200, completion(json.dumps({"cuts": entries}))

    return reply


def test_vllm_places_cuts_with_a_json_schema_and_the_plan_follows(
    fake: FakeOpenAI, lecture: transcript_pb2.Transcript
) -> None:
    """On by default for vllm: one placement request (json_schema, a choice per cut) before the labels;
    the model's earlier position for the first cut moves the snippet bounds there."""
    fake.queue.append(move_first_cut_to("So green leaves"))
    items = analyze(engine_for(fake), lecture)
    assert [is_placement(r) for r in fake.requests] == [True, False]
    body = fake.requests[0]
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema" and body["model"] == MODEL
    assert schema["properties"]["cuts"]["minItems"] == 2 == schema["properties"]["cuts"]["maxItems"]
    offered = [
        len(re.findall(r"^  \d+\. at ", block, flags=re.MULTILINE))
        for block in body["messages"][1]["content"].split("Cut [")[1:]
    ]
    tuple_items = schema["properties"]["cuts"]["prefixItems"]  # each cut's positions, for the grammar
    assert [it["properties"]["position"]["enum"] for it in tuple_items] == [
        list(range(1, n + 1)) for n in offered
    ]
    assert offered[0] > 1
    assert "You place the cuts" in body["messages"][0]["content"]
    assert "transition cue" in body["messages"][1]["content"]
    doc = build_document(lecture)
    moved = next(i for i, s in enumerate(doc.sentences) if s.text.startswith("So green leaves"))
    assert [it.start for it in items] == [0.0, doc.sentences[moved].start, doc.sentences[20].start]
    assert items[0].end == doc.sentences[moved - 1].end
    assert "rocket" in items[1].name.lower() or "photosynthesis" in items[1].name.lower()


def test_invalid_placements_are_retried_then_the_proposers_cuts_stay(
    fake: FakeOpenAI, lecture: transcript_pb2.Transcript
) -> None:
    """A position out of range is retried with the problem named; garbage after that keeps the cuts."""
    bad = json.dumps(
        {"cuts": [{"id": 1, "position": 9, "keep": True}, {"id": 2, "position": 1, "keep": True}]}
    )
    fake.queue.append(lambda body: (200, completion(bad)))
    fake.queue.append(lambda body: (200, completion("The cuts look fine to me.")))
    items = analyze(engine_for(fake), lecture)
    assert [is_placement(r) for r in fake.requests] == [True, True, False]
    retry = fake.requests[1]["messages"]
    assert retry[2] == {"role": "assistant", "content": bad}
    assert "position 9 is not one of" in retry[3]["content"]
    doc = build_document(lecture)
    assert [it.start for it in items] == [0.0, doc.sentences[10].start, doc.sentences[20].start]


def test_the_setting_turns_placement_on_or_off_per_engine(fake: FakeOpenAI) -> None:
    """Unset: on for vllm, off for llama; AIAT_ANALYZER_LLM_PLACES_BOUNDARIES overrides either way."""
    assert AnalyzerSettings(engine="vllm").places_boundaries
    assert not AnalyzerSettings(engine="llama").places_boundaries
    assert AnalyzerSettings(engine="llama", llm_places_boundaries=True).places_boundaries
    off = build_engine(AnalyzerSettings(engine="vllm", vllm_url=fake.url, llm_places_boundaries=False))
    assert isinstance(off.refiner, LlmRefiner) and off.refiner.placer is None
    on = build_engine(AnalyzerSettings(engine="vllm", vllm_url=fake.url))
    assert isinstance(on.refiner, LlmRefiner) and isinstance(on.refiner.placer, BoundaryPlacer)


def test_answers_are_validated_and_applied_in_order(lecture: transcript_pb2.Transcript) -> None:
    """Ids and positions must be in range; a dropped cut merges its neighbours while within max_seconds."""
    doc = build_document(lecture)
    s = doc.sentences
    cands = [Candidate(a, b - 1, s[a].start, s[b - 1].end) for a, b in ((0, 10), (10, 20), (20, len(s)))]
    options = build_engine(AnalyzerSettings(engine="lexical", **LIMITS)).limits.resolve()
    cuts = cuts_to_place(doc, cands, options)
    assert [next(p.sentence for p in c.positions if p.current) for c in cuts] == [10, 20]
    for c in cuts:  # offers lie between the midpoints to the neighbouring cuts
        assert all(5 < p.sentence <= 25 for p in c.positions)
    for bad in (
        '{"cuts": [{"id": 1, "position": 1, "keep": true}]}',
        '{"cuts": [{"id": 3, "position": 1}, {}]}',
    ):
        with pytest.raises(PlanParseError):
            parse_choices(bad, cuts)
    first = cuts[0].positions[0].sentence
    answer = json.dumps(
        {"cuts": [{"id": 2, "position": 1, "keep": False}, {"id": 1, "position": 1, "keep": True}]}
    )
    assert parse_choices(answer, cuts) == [first, None]
    placed = apply(doc, cands, [first, None], min_seconds=20, max_seconds=200)
    assert [c.first for c in placed] == [0, first]
    placed = apply(doc, cands, [first, None], min_seconds=20, max_seconds=90)
    assert [c.first for c in placed] == [0, first, 20]


def test_neighbouring_cuts_moving_together_keep_every_clip_in_the_length_range(
    lecture: transcript_pb2.Transcript,
) -> None:
    """Every choice fits its proposer's neighbours; two neighbours moving towards or away from each other
    must still not make the clip between them shorter than min_seconds or longer than max_seconds."""
    doc = build_document(lecture)
    s = doc.sentences
    cands = [Candidate(a, b - 1, s[a].start, s[b - 1].end) for a, b in ((0, 10), (10, 20), (20, len(s)))]

    def fits(a: int, b: int) -> bool:
        return LIMITS["min_seconds"] <= s[b - 1].end - s[a].start <= LIMITS["max_seconds"]

    assert all(fits(c.first, c.last + 1) for c in cands)
    # What cuts_to_place may offer: between the midpoints, each side in range with the proposer's cuts.
    firsts = [j for j in range(6, 16) if fits(0, j) and fits(j, 20)]
    seconds = [j for j in range(16, 26) if fits(10, j) and fits(j, len(s))]
    assert 15 in firsts and 16 in seconds
    for a in [*firsts, None]:
        for b in [*seconds, None]:
            placed = apply(doc, cands, [a, b], **LIMITS)
            assert all(fits(c.first, c.last + 1) for c in placed), (a, b, [c.first for c in placed])
    assert [c.first for c in apply(doc, cands, [15, 16], **LIMITS)] == [0, 15, 20]
    assert [c.first for c in apply(doc, cands, [12, 18], **LIMITS)] == [0, 12, 18]


def test_progress_over_placing_and_labelling_never_runs_back(
    fake: FakeOpenAI, lecture: transcript_pb2.Transcript
) -> None:
    """Placement and labelling share the refiner's step of the bar: done/total only grows, ending at 1."""
    engine = engine_for(fake)
    seen: list[tuple[str, float, float]] = []
    try:
        engine.analyze(lecture, engine.limits.resolve(), lambda *a: seen.append(a), threading.Event())
    finally:
        engine.close()
    assert {"placing", "labelling"} <= {stage for stage, _, _ in seen}
    fractions = [done / total for _, done, total in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
