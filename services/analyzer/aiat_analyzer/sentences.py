"""Timed sentences from a transcript's segments and words (a sentence may span segments)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiat.common.v1 import transcript_pb2

# A word that ends a sentence: terminal punctuation, optionally followed by closing quotes/brackets.
_END = re.compile(r"[.?!…]+[\"'”’)\]]*$")
# Words that end with a period but rarely end a sentence.
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e.", "etc.", "cf.", "fig.", "eq.", "no."}
)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:?!%)\]}])")


@dataclass(frozen=True)
class Word:
    """One timed word of the flattened transcript."""

    text: str
    start: float
    end: float
    segment_end: bool  # the last word of a transcript segment


@dataclass(frozen=True)
class Sentence:
    """A run of words ending at a sentence end; `first_word` indexes the flattened words."""

    index: int
    text: str
    start: float
    end: float
    first_word: int
    n_words: int


def flatten_words(transcript: transcript_pb2.Transcript) -> list[Word]:
    """All words in order, with monotonic times; segments without words get evenly spread words."""
    words: list[Word] = []
    last = 0.0
    for seg in transcript.segments:
        items: list[tuple[str, float, float]]
        if seg.words:
            items = [(w.text.strip(), w.start, w.end) for w in seg.words if w.text.strip()]
        else:
            tokens = seg.text.split()
            step = (seg.end - seg.start) / len(tokens) if tokens else 0.0
            items = [(t, seg.start + i * step, seg.start + (i + 1) * step) for i, t in enumerate(tokens)]
        for i, (text, start, end) in enumerate(items):
            start = max(start, last)
            end = max(end, start)
            words.append(Word(text, start, end, segment_end=i == len(items) - 1))
            last = start
    return words


def ends_sentence(text: str) -> bool:
    """Whether a word closes a sentence (terminal punctuation, not a known abbreviation)."""
    return bool(_END.search(text)) and text.lower() not in _ABBREVIATIONS


def join_words(texts: Sequence[str]) -> str:
    """Readable text from word tokens (no space before punctuation)."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(texts))


def split_sentences(
    words: Sequence[Word], soft_max_words: int = 40, hard_max_words: int = 120
) -> list[Sentence]:
    """Sentences ending at punctuation; unpunctuated runs also end at a segment end or a hard cap."""
    sentences: list[Sentence] = []
    first = 0
    for i, word in enumerate(words):
        length = i - first + 1
        if (
            ends_sentence(word.text)
            or (word.segment_end and length >= soft_max_words)
            or length >= hard_max_words
            or i == len(words) - 1
        ):
            run = words[first : i + 1]
            sentences.append(
                Sentence(
                    index=len(sentences),
                    text=join_words([w.text for w in run]),
                    start=run[0].start,
                    end=run[-1].end,
                    first_word=first,
                    n_words=len(run),
                )
            )
            first = i + 1
    return sentences
