"""Captions from word timestamps: cue building, ASS escaping and highlighting, SRT."""

from __future__ import annotations

import itertools

from aiat_renderer import captions


def test_captions_two_short_lines_and_srt() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve. thirteen fourteen"
    words = [(10 + i * 0.5, 10.4 + i * 0.5, w) for i, w in enumerate(text.split())]
    shifted = captions.shift_words(words, 10.0, 20.0)
    assert shifted[0].start == 0.0
    cues = captions.build_cues(shifted, max_chars=16)
    assert all(len(c.lines) <= 2 for c in cues)
    assert all(len(" ".join(w.text for w in line)) <= 16 for c in cues for line in c.lines)
    assert cues[-1].text == "thirteen\nfourteen"  # a sentence end starts a new cue
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    srt = captions.srt_text(cues, offset=2.0)
    assert srt.startswith("1\n00:00:02,000 --> ")


def test_ass_escaping_and_highlight() -> None:
    assert captions.ass_escape("a{b}\\N") == "a\\{b\\}\\\u2060N"
    words = captions.shift_words([(0.0, 0.5, "hi"), (0.5, 1.0, "{there}")], 0.0, 5.0)
    cues = captions.build_cues(words, max_chars=30)
    style = captions.AssStyle(320, 180, "DejaVu Sans", 12, True, "&H00FFFFFF", "&H0000D4FF", 10)
    doc = captions.ass_document(cues, style, highlight_words=True)
    events = [line for line in doc.splitlines() if line.startswith("Dialogue:")]
    assert len(events) == 2
    assert "{\\c&H00D4FF&}hi{\\c&HFFFFFF&} \\{there\\}" in events[0]
    plain = captions.ass_document(cues, style, highlight_words=False)
    assert len([x for x in plain.splitlines() if x.startswith("Dialogue:")]) == 1


def test_caption_words_with_non_finite_times_are_dropped() -> None:
    words = [(float("nan"), 2.0, "bad"), (1.0, float("inf"), "worse"), (1.0, 1.5, "good")]
    assert [w.text for w in captions.shift_words(words, 0.0, 10.0)] == ["good"]
