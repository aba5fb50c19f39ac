"""Granularity from the content: many short topics and a few long ones, the count not given, same length range."""

from __future__ import annotations

import random
import threading

import pytest

from aiat_analyzer.factory import build_engine
from aiat_analyzer.pipeline import PipelineEngine
from aiat_analyzer.settings import AnalyzerSettings
from tests.analyzer.lectures import make_transcript

POOLS = [
    "river water flood bank delta sediment current erosion valley stream rain channel",
    "violin orchestra melody rhythm harmony composer concert symphony tempo chord note score",
    "volcano lava magma eruption crater ash tectonic plate mantle crust basalt vent",
    "bacteria cell membrane protein enzyme nucleus genome mutation virus antibody immune culture",
    "market price demand supply inflation currency bank interest loan investor trade profit",
    "galaxy star telescope planet orbit comet nebula light year cosmic quasar pulsar",
    "bridge steel cable tower load beam concrete span truss girder bolt weld",
    "poem verse rhyme stanza poet metaphor sonnet meter ballad lyric imagery ode",
]
TEMPLATES = [
    "The {} shapes the {} and the {}.",
    "We see how {} and {} relate to the {} here.",
    "Every {} depends on a {} near the {}.",
    "Think of the {} as a kind of {} with a {}.",
    "A {} often meets the {} before the {} changes.",
]


def lecture(topics: int, sentences_each: int) -> tuple[list[str], list[int]]:
    """`topics` topics of their own vocabulary, `sentences_each` sentences each; and where each topic starts."""
    rng = random.Random(0)
    sentences: list[str] = []
    starts = []
    for t in range(topics):
        starts.append(len(sentences))
        words = POOLS[t].split()
        sentences += [rng.choice(TEMPLATES).format(*rng.sample(words, 3)) for _ in range(sentences_each)]
    return sentences, starts


@pytest.fixture(scope="module")
def engine() -> PipelineEngine:
    """The default CPU proposer (learned scorer), labels without a model, the default 60-600 s range."""
    engine = build_engine(AnalyzerSettings(engine="lexical"))
    engine.load()
    return engine


@pytest.mark.parametrize(("topics", "each", "at_least"), [(8, 22, 6), (2, 88, 2)])
def test_the_count_follows_the_topics_not_the_length(
    engine: PipelineEngine, topics: int, each: int, at_least: int
) -> None:
    """Both lectures last ~11.5 min: eight ~87 s topics come out as six to eight snippets, two ~346 s topics as two."""
    sentences, starts = lecture(topics, each)
    transcript = make_transcript(sentences)
    items = engine.analyze(transcript, engine.limits.resolve(), lambda *_: None, threading.Event())
    words = [len(s.split()) for s in sentences]
    true_starts = [sum(words[:i]) * 0.4 for i in starts]  # make_transcript: 0.4 s a word
    assert at_least <= len(items) <= topics, [it.start for it in items]
    for it in items:
        assert min(abs(it.start - t) for t in true_starts) <= 10, (it.start, true_starts)
