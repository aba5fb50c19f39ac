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


def is_generic(title: str) -> bool:
    """Whether a (cleaned) slide title is one of the generic ones, ignoring case and a closing ? or !."""
    return " ".join(title.split()).casefold().rstrip("?!") in GENERIC_TITLES
