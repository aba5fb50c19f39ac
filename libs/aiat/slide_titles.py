"""Slide titles that say where the lecture is, not what a part of it teaches (shared by naming and chapters)."""

from __future__ import annotations

GENERIC_TITLES = frozenset(
    {
        "outline",
        "agenda",
        "contents",
        "table of contents",
        "overview",
        "questions",
        "any questions",
        "q&a",
        "thank you",
        "thanks",
        "the end",
        "references",
    }
)


# What OCR leaves around a title: bullets, rules, a closing colon or full stop, a (spaced) ? or !.
PUNCTUATION = " .:;,-–—|•·?!"


def is_generic(title: str) -> bool:
    """Whether a slide title, raw or cleaned, is one of the generic ones, ignoring case and the punctuation around it."""
    return " ".join(title.split()).strip(PUNCTUATION).casefold() in GENERIC_TITLES
