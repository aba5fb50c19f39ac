"""Placing a chunk's recognised segments on the media timeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aiat.common.v1 import transcript_pb2


class RecognisedWord(Protocol):
    """A word as faster-whisper reports it, in seconds from the start of its chunk."""

    start: float
    end: float
    word: str
    probability: float


class RecognisedSegment(Protocol):
    """A segment as faster-whisper reports it, in seconds from the start of its chunk."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float

    @property
    def words(self) -> Sequence[RecognisedWord] | None:
        """The segment's words; None without word timestamps."""
        ...


class Timeline:
    """Places engine segments on the media timeline: offset, monotonic, clamped to [0, duration]."""

    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.cursor = 0.0
        self.next_id = 0

    def _clamp(self, value: float, low: float) -> float:
        return min(max(value, low), self.duration)

    def place(self, segment: RecognisedSegment, offset: float) -> transcript_pb2.Segment:
        """Proto segment for a faster-whisper segment of a chunk that starts `offset` seconds in."""
        start = self._clamp(offset + segment.start, self.cursor)
        words = []
        word_cursor = start
        for word in segment.words or ():
            word_start = self._clamp(offset + word.start, word_cursor)
            word_end = self._clamp(offset + word.end, word_start)
            word_cursor = word_end
            words.append(
                transcript_pb2.Word(
                    start=word_start, end=word_end, text=word.word.strip(), probability=word.probability
                )
            )
        end = self._clamp(max(offset + segment.end, word_cursor), start)
        self.cursor = end
        placed = transcript_pb2.Segment(
            id=self.next_id,
            start=start,
            end=end,
            text=segment.text.strip(),
            words=words,
            avg_logprob=segment.avg_logprob,
            no_speech_prob=segment.no_speech_prob,
        )
        self.next_id += 1
        return placed
