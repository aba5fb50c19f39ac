"""Generic slide titles: the analyzer's namer and the gateway's chapters agree on them, however OCR punctuates."""

from __future__ import annotations

import pytest

from aiat.slide_titles import is_generic
from aiat_analyzer.naming import real_title
from aiat_gateway.chapters import slide_title


@pytest.mark.parametrize(
    "title",
    [
        "Outline",
        "Outline:",
        "  Any questions? ",
        "Questions ?",
        "Thank you.",
        "Agenda -",
        "• Overview",
        "Q&A!",
    ],
)
def test_a_generic_title_names_neither_a_snippet_nor_a_chapter(title: str) -> None:
    """OCR keeps a title's colon, full stop, bullet or spaced question mark: still generic, for both."""
    assert is_generic(title)
    assert real_title(title) is None
    assert slide_title([(0.0, title)], 0.0, 60.0) is None


@pytest.mark.parametrize("title", ["Outline of the proof", "Questions of scale", "Conservation of momentum"])
def test_a_title_that_only_contains_a_generic_word_names_both(title: str) -> None:
    """Only the whole title counts: 'Outline of the proof' teaches something."""
    assert not is_generic(title)
    assert real_title(title) == title
    assert slide_title([(0.0, title)], 0.0, 60.0) == title
