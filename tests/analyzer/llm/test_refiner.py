"""The LLM refiner: windows of candidates to a real backend (vLLM client + fake server), labels to items."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from aiat.common.v1 import transcript_pb2
from aiat.errors import Cancelled
from aiat_analyzer.factory import request_limits
from aiat_analyzer.lexical import ExtractiveRefiner, LexicalProposer
from aiat_analyzer.llm.refiner import LlmRefiner, assemble, combine
from aiat_analyzer.llm.vllm import VllmBackend
from aiat_analyzer.naming import Label
from aiat_analyzer.pipeline import Candidate, SlideInfo, build_document
from aiat_analyzer.settings import AnalyzerSettings
from tests.fakes.fake_openai import FakeOpenAI, fake_openai_server

MODEL = "served/model"


@pytest.fixture
def refiner() -> Iterator[tuple[LlmRefiner, FakeOpenAI]]:
    """A loaded refiner over the vLLM client, talking to a fake OpenAI server."""
    with fake_openai_server([MODEL]) as fake:
        backend = VllmBackend(fake.url, MODEL, startup_timeout=5, parallel=2)
        refiner = LlmRefiner(backend, fallback=ExtractiveRefiner(), window=1)
        refiner.load()
        try:
            yield refiner, fake
        finally:
            refiner.close()


def test_one_progress_step_per_window(
    refiner: tuple[LlmRefiner, FakeOpenAI], lecture: transcript_pb2.Transcript
) -> None:
    """window=1: a request and a labelling step per candidate; every item labelled by the model."""
    llm, fake = refiner
    settings = AnalyzerSettings(engine="lexical", min_seconds=20, max_seconds=90)
    options = request_limits(settings).resolve()
    doc = build_document(lecture)
    candidates = LexicalProposer().propose(doc, options)
    steps: list[tuple[str, float, float]] = []
    items = llm.refine(doc, candidates, options, lambda *a: steps.append(a), threading.Event())
    assert len(candidates) == 3 and len(fake.requests) == 3
    assert [s for s in steps if s[0] == "labelling"][-1] == ("labelling", 3, 3)
    assert [(it.start, it.end) for it in items] == [(c.start, c.end) for c in candidates]
    assert all(it.reason.startswith("model score 7/10") for it in items)
    assert llm.refine(doc, [], options, lambda *a: None, threading.Event()) == []


def test_a_cancelled_request_stops_before_the_model(
    refiner: tuple[LlmRefiner, FakeOpenAI], lecture: transcript_pb2.Transcript
) -> None:
    """With cancel set, no window reaches the backend."""
    llm, fake = refiner
    options = request_limits(AnalyzerSettings(engine="lexical", min_seconds=20, max_seconds=90)).resolve()
    doc = build_document(lecture)
    candidates = LexicalProposer().propose(doc, options)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        llm.refine(doc, candidates, options, lambda *a: None, cancel)
    assert fake.requests == []


def test_combine_keeps_the_model_text_and_averages_the_scores() -> None:
    """The model names and summarises; the score is the mean of both, the reason shows both."""
    model = Label("Orbits", "How orbits work.", 0.8, "", same_topic=True, keep=False)
    extractive = Label("Rocket, orbit", "A rocket ...", 0.4, "cohesion 50% repeated terms")
    label = combine(model, extractive)
    assert (label.name, label.summary, label.score) == ("Orbits", "How orbits work.", 0.6)
    assert label.reason == "model score 8/10; cohesion 50% repeated terms"
    assert label.same_topic and not label.keep


def test_assemble_merges_adjacent_candidates_within_max_and_never_drops_all() -> None:
    """Merges join neighbours (not across a dropped one, not beyond max); dropping everything keeps all."""
    cands = [Candidate(i, i, i * 100.0, (i + 1) * 100.0) for i in range(4)]
    lab = [
        Label("A", "", 0.5, ""),
        Label("B", "", 0.9, "", same_topic=True),
        Label("C", "", 0.5, "", keep=False),
        Label("D", "", 0.5, "", same_topic=True),
    ]
    items = assemble(cands, lab, max_seconds=250, merge=True)
    assert [(it.name, it.start, it.end, it.score) for it in items] == [
        ("A", 0, 200, 0.9),
        ("D", 300, 400, 0.5),
    ]
    assert len(assemble(cands, lab, max_seconds=150, merge=True)) == 3  # A+B would exceed max
    assert len(assemble(cands, lab, max_seconds=250, merge=False)) == 3
    dropped = [Label(x, "", 0.5, "", keep=False) for x in "ABCD"]
    assert [it.name for it in assemble(cands, dropped, 250, True)] == list("ABCD")


def test_slide_titles_reach_the_model_as_name_candidates(
    refiner: tuple[LlmRefiner, FakeOpenAI], lecture: transcript_pb2.Transcript
) -> None:
    """Each window lists the titles shown in its candidate; the instructions say to prefer them as names."""
    llm, fake = refiner
    options = request_limits(AnalyzerSettings(engine="lexical", min_seconds=20, max_seconds=90)).resolve()
    doc = build_document(lecture)
    candidates = LexicalProposer().propose(doc, options)
    llm.refine(doc, candidates, options, lambda *a: None, threading.Event())
    assert all("slide titles" not in r["messages"][1]["content"] for r in fake.requests)
    assert "name candidates" not in fake.requests[0]["messages"][0]["content"]
    fake.requests.clear()
    slides = (SlideInfo(0.0, "Light and Leaves"), SlideInfo(candidates[1].start, 'Rocket "Orbits"'))
    llm.refine(doc, candidates, replace(options, slides=slides), lambda *a: None, threading.Event())
    own = sorted(r["messages"][1]["content"].split("[1]")[1] for r in fake.requests)  # not the context
    assert "name candidates" in fake.requests[0]["messages"][0]["content"]
    assert sum('slide titles: "Light and Leaves"\n' in u for u in own) == 1
    assert sum("slide titles: \"Rocket 'Orbits'\"\n" in u for u in own) == 2  # shown until the end
