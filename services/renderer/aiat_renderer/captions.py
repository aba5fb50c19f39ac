"""Captions from word timestamps: cues of at most two short lines, ASS (optional word highlight) and SRT."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiat.transcripts import to_srt

SENTENCE_END = (".", "?", "!", "…", "。", "؟")
MAX_PAUSE = 1.0
MIN_CUE = 0.4


@dataclass(frozen=True)
class TimedWord:
    """A word with its span in output (snippet) seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Cue:
    """One caption on screen: its words, split into lines."""

    start: float
    end: float
    lines: tuple[tuple[TimedWord, ...], ...]

    @property
    def text(self) -> str:
        """The cue's lines joined by newlines."""
        return "\n".join(" ".join(w.text for w in line) for line in self.lines)


def shift_words(words: Iterable[tuple[float, float, str]], start: float, end: float) -> list[TimedWord]:
    """Words overlapping [start, end] (source seconds), moved to snippet time and clipped to it."""
    out = []
    for w_start, w_end, text in words:
        text = " ".join(text.split())
        if (
            not text
            or not (math.isfinite(w_start) and math.isfinite(w_end))
            or w_end <= start
            or w_start >= end
        ):
            continue
        s, e = max(w_start, start) - start, min(w_end, end) - start
        out.append(TimedWord(s, max(e, s), text))
    out.sort(key=lambda w: w.start)
    return out


def build_cues(words: Sequence[TimedWord], max_chars: int, max_lines: int = 2) -> list[Cue]:
    """Group words into cues: at most `max_lines` lines of `max_chars`, split at pauses and sentence ends."""
    cues: list[Cue] = []
    lines: list[list[TimedWord]] = []

    def flush() -> None:
        if lines:
            flat = [w for line in lines for w in line]
            cues.append(Cue(flat[0].start, flat[-1].end, tuple(tuple(line) for line in lines)))
            lines.clear()

    prev: TimedWord | None = None
    for word in words:
        if prev is not None and (word.start - prev.end > MAX_PAUSE or prev.text.endswith(SENTENCE_END)):
            flush()
        if lines and len(" ".join(w.text for w in lines[-1])) + 1 + len(word.text) <= max_chars:
            lines[-1].append(word)
        else:
            if len(lines) == max_lines:
                flush()
            lines.append([word])
        prev = word
    flush()
    return _retime(cues)


def _retime(cues: list[Cue]) -> list[Cue]:
    """Give short cues a minimum time on screen and close small gaps, never overlapping the next cue."""
    out = []
    for i, cue in enumerate(cues):
        nxt = cues[i + 1].start if i + 1 < len(cues) else None
        end = max(cue.end, cue.start + MIN_CUE)
        if nxt is not None and nxt - end < 0.3:
            end = nxt
        if nxt is not None:
            end = min(end, nxt)
        out.append(Cue(cue.start, max(end, cue.start + 0.01), cue.lines))
    return out


def srt_text(cues: Sequence[Cue], offset: float = 0.0) -> str:
    """SubRip text of the cues, shifted by `offset` seconds (the intro)."""
    return to_srt([(c.start + offset, c.end + offset, c.text) for c in cues])


def ass_escape(text: str) -> str:
    """Make user text literal in ASS: no override blocks, no \\N / \\h escapes."""
    # A word joiner after a backslash stops libass reading \N, \n, \h; libass reads \{ and \} as braces.
    return text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")


def _clock(seconds: float) -> str:
    cs = max(0, round(seconds * 100))
    h, rest = divmod(cs, 360_000)
    m, rest = divmod(rest, 6000)
    s, cs = divmod(rest, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


@dataclass(frozen=True)
class AssStyle:
    """Caption look, in output pixels and ASS colours."""

    width: int
    height: int
    font_name: str
    font_size: int
    bold: bool
    primary: str
    highlight: str
    margin_v: int
    top: bool = False


def _line_text(cue: Cue, highlight: TimedWord | None, style: AssStyle) -> str:
    rendered = []
    for line in cue.lines:
        parts = []
        for word in line:
            text = ass_escape(word.text)
            if word is highlight:
                text = f"{{\\c&H{style.highlight[-6:]}&}}{text}{{\\c&H{style.primary[-6:]}&}}"
            parts.append(text)
        rendered.append(" ".join(parts))
    return "\\N".join(rendered)


def ass_document(cues: Sequence[Cue], style: AssStyle, highlight_words: bool) -> str:
    """A complete ASS script; with highlighting, one event per word span so the cue never flickers."""
    align = 8 if style.top else 2
    header = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 2\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {style.width}\nPlayResY: {style.height}\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Caption,{style.font_name},{style.font_size},{style.primary},{style.primary},&H00000000,"
        f"&H80000000,{-1 if style.bold else 0},0,0,0,100,100,0,0,1,{max(1, style.font_size // 12)},"
        f"{max(1, style.font_size // 24)},{align},40,40,{style.margin_v},1\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    events = []
    for cue in cues:
        words = [w for line in cue.lines for w in line]
        spans: list[tuple[float, float, TimedWord | None]]
        if not highlight_words:
            spans = [(cue.start, cue.end, None)]
        else:
            starts = [cue.start] + [w.start for w in words[1:]] + [cue.end]
            spans = [(starts[i], starts[i + 1], w) for i, w in enumerate(words) if starts[i + 1] > starts[i]]
        for s, e, word in spans:
            text = _line_text(cue, word, style)
            events.append(f"Dialogue: 0,{_clock(s)},{_clock(e)},Caption,,0,0,0,,{text}")
    return header + "\n".join(events) + "\n"
