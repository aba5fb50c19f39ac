"""The shared pipeline: request limits, the document, and analyze() with progress and cancellation."""

from __future__ import annotations

import threading

import pytest

from aiat.common.v1 import transcript_pb2
from aiat.errors import Cancelled, InvalidInput
from aiat_analyzer.lexical import ExtractiveRefiner, LexicalProposer
from aiat_analyzer.pipeline import MAX_OPTION_CHARS, PipelineEngine, RequestLimits, build_document
from tests.analyzer.lectures import transcript_sentences

LIMITS = RequestLimits(min_seconds=60, max_seconds=600, max_snippets=100, max_words=1000)


def test_zero_options_take_the_defaults_and_a_one_sided_range_stays_possible() -> None:
    """0 means the default; a max below the default min pulls min down, a min above max pushes max up."""
    opts = LIMITS.resolve()
    assert (opts.min_seconds, opts.max_seconds, opts.max_snippets) == (60, 600, 100)
    assert (LIMITS.resolve(max_seconds=40).min_seconds, LIMITS.resolve(min_seconds=900).max_seconds) == (
        20,
        1800,
    )
    assert LIMITS.resolve(max_snippets=5).max_snippets == 5
    assert LIMITS.resolve(max_snippets=500).max_snippets == 100  # capped


def test_free_text_options_are_stripped_and_bounded() -> None:
    """Focus, title, module and language go into every prompt: trimmed and cut to MAX_OPTION_CHARS."""
    opts = LIMITS.resolve(focus="  x" * 500, title=" T ", language=" de ", module="M")
    assert len(opts.focus) == MAX_OPTION_CHARS and (opts.title, opts.language, opts.module) == (
        "T",
        "de",
        "M",
    )


@pytest.mark.parametrize(
    "options",
    [{"min_seconds": 100, "max_seconds": 50}, {"min_seconds": -1}, {"max_snippets": -2}],
)
def test_impossible_options_are_invalid_input(options: dict[str, float]) -> None:
    """A reversed or negative range, or a negative count, is rejected."""
    with pytest.raises(InvalidInput):
        LIMITS.resolve(**options)  # type: ignore[arg-type]


def test_word_count_must_be_between_one_and_the_limit() -> None:
    """No words, or more than max_words, is InvalidInput; the limit itself is fine."""
    LIMITS.check_words(1000)
    with pytest.raises(InvalidInput, match="empty"):
        LIMITS.check_words(0)
    with pytest.raises(InvalidInput, match="1001 words; the limit is 1000"):
        LIMITS.check_words(1001)


def test_document_and_its_plan_limits(lecture: transcript_pb2.Transcript) -> None:
    """Sentences and duration of a transcript; min length never above the media's duration."""
    doc = build_document(lecture)
    assert [s.text for s in doc.sentences] == [s.text for s in transcript_sentences(lecture)]
    assert doc.duration == lecture.duration and doc.language == "en"
    assert doc.n_words == sum(len(s.words) for s in lecture.segments)
    limits = doc.limits(LIMITS.resolve(min_seconds=1000, max_seconds=2000))
    assert limits.min_seconds == doc.duration and limits.sentence_starts[0] == doc.sentences[0].start
    with pytest.raises(InvalidInput, match="empty"):
        build_document(transcript_pb2.Transcript())


def _engine() -> PipelineEngine:
    return PipelineEngine(LexicalProposer(), ExtractiveRefiner(), name="lexical", limits=LIMITS)


def test_analyze_reports_each_stage_then_done(lecture: transcript_pb2.Transcript) -> None:
    """Progress runs through the four stages in order and ends with done; the plan is repaired."""
    engine = _engine()
    engine.load()
    steps: list[tuple[str, float, float]] = []
    items = engine.analyze(
        lecture, LIMITS.resolve(min_seconds=20, max_seconds=90), lambda *a: steps.append(a), threading.Event()
    )
    engine.close()
    assert steps == [
        ("sentences", 0, 4),
        ("proposing", 1, 4),
        ("labelling", 2, 4),
        ("validating", 3, 4),
        ("done", 4, 4),
    ]
    assert len(items) == 3


def test_a_cancelled_analysis_stops_at_the_next_stage(lecture: transcript_pb2.Transcript) -> None:
    """Cancel set during a stage: Cancelled before the next one starts."""
    cancel = threading.Event()
    stages: list[str] = []

    def progress(stage: str, done: float, total: float) -> None:
        stages.append(stage)
        if stage == "proposing":
            cancel.set()

    with pytest.raises(Cancelled):
        _engine().analyze(lecture, LIMITS.resolve(min_seconds=20, max_seconds=90), progress, cancel)
    assert stages == ["sentences", "proposing"]
