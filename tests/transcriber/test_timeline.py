"""Placing chunk segments on the media timeline: offset, monotonic, clamped."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiat_transcriber.timeline import Timeline


@dataclass
class _Word:
    start: float
    end: float
    word: str
    probability: float = 0.9


@dataclass
class _Segment:
    start: float
    end: float
    text: str
    words: list[_Word] = field(default_factory=list)
    avg_logprob: float = -0.2
    no_speech_prob: float = 0.01


def test_timeline_offsets_orders_and_clamps() -> None:
    timeline = Timeline(duration=12.0)
    first = timeline.place(
        _Segment(0.5, 3.0, " One two.", [_Word(0.5, 1.0, " One"), _Word(0.9, 3.2, " two.")]), 0.0
    )
    assert (first.start, first.end) == (0.5, 3.2)
    assert [(w.text, w.start, w.end) for w in first.words] == [("One", 0.5, 1.0), ("two.", 1.0, 3.2)]
    # A segment of the next chunk that overlaps the previous one, and one past the end of the media.
    second = timeline.place(_Segment(-0.5, 1.0, " Three."), 3.0)
    assert (second.id, second.start, second.end) == (1, 3.2, 4.0)
    third = timeline.place(_Segment(8.0, 11.0, " Four.", [_Word(8.0, 11.0, " Four.")]), 3.0)
    assert (third.start, third.end) == (11.0, 12.0)
    assert (third.words[0].start, third.words[0].end) == (11.0, 12.0)
