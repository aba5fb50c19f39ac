"""Sentence splitting over timed words."""

from __future__ import annotations

from aiat.common.v1 import transcript_pb2
from aiat_analyzer.sentences import ends_sentence, flatten_words, join_words, split_sentences
from tests.analyzer.lectures import make_transcript, transcript_sentences


def test_sentences_span_segments_and_segments_hold_several() -> None:
    """Sentence ends come from punctuation, not from segment ends."""
    t = make_transcript(["One two three four five.", "Six seven eight!", "Nine ten, Dr. Who eleven?"], 4)
    sents = transcript_sentences(t)
    assert [s.text for s in sents] == [
        "One two three four five.",
        "Six seven eight!",
        "Nine ten, Dr. Who eleven?",
    ]
    assert [s.first_word for s in sents] == [0, 5, 8]
    assert sents[1].start == t.segments[1].words[1].start
    assert sents[1].end == t.segments[1].words[3].end


def test_unpunctuated_text_ends_at_long_segment_ends() -> None:
    """Without punctuation, a segment end closes a sentence once it is long enough."""
    t = make_transcript([" ".join(["word"] * 50)], 10)
    sents = split_sentences(flatten_words(t), soft_max_words=20)
    assert [s.n_words for s in sents] == [20, 20, 10]


def test_segments_without_words_are_spread_over_their_time() -> None:
    """A segment with text but no word timings still yields timed words."""
    t = transcript_pb2.Transcript(segments=[transcript_pb2.Segment(start=10, end=14, text="a b c d.")])
    words = flatten_words(t)
    assert [w.start for w in words] == [10, 11, 12, 13]
    assert transcript_sentences(t)[0].end == 14


def test_abbreviations_do_not_end_sentences_and_punctuation_joins_tight() -> None:
    """ "Dr." and "e.g." continue a sentence; closing quotes still end one; no space before punctuation."""
    assert not ends_sentence("Dr.") and not ends_sentence("e.g.")
    assert ends_sentence('said."') and ends_sentence("right?)") and not ends_sentence("so,")
    assert join_words(["Hello", ",", "world", "!"]) == "Hello, world!"


def test_times_never_run_backwards() -> None:
    """A word timed before the previous one starts where that one started; an end never precedes its start."""
    t = transcript_pb2.Transcript(
        segments=[
            transcript_pb2.Segment(
                words=[
                    transcript_pb2.Word(text="a", start=5, end=6),
                    transcript_pb2.Word(text="b", start=4, end=3),
                ]
            )
        ]
    )
    words = flatten_words(t)
    assert [(w.start, w.end) for w in words] == [(5, 6), (5, 5)]
    assert [w.segment_end for w in words] == [False, True]
