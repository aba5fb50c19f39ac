"""Pure render layout: output size, crop window, frame grid, and where title, logo, intro and captions go."""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from fractions import Fraction

from aiat.aspect import Aspect
from aiat.errors import InvalidInput
from aiat.media import MediaInfo

MAX_TITLE_CHARS = 300

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def even(value: float) -> int:
    """Nearest even integer that is at least 2 (H.264 4:2:0 needs even sizes)."""
    return max(2, round(value / 2) * 2)


@dataclass(frozen=True)
class Rect:
    """A rectangle in source pixels."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Geometry:
    """Output size and the source window that is scaled (and padded if needed) into it."""

    width: int
    height: int
    crop: Rect | None


def output_size(aspect: Aspect, src_h: int, landscape_max_height: int, square_size: int) -> tuple[int, int]:
    """Output frame size of a preset."""
    if aspect == Aspect.VERTICAL:
        return 1080, 1920
    if aspect == Aspect.SQUARE:
        return even(square_size), even(square_size)
    height = even(min(src_h, landscape_max_height))
    return even(height * 16 / 9), height


def compute_geometry(
    aspect: Aspect,
    src_w: int,
    src_h: int,
    *,
    x_center: float | None = None,
    roi: Rect | None = None,
    landscape_max_height: int = 1080,
    square_size: int = 1080,
) -> Geometry:
    """Crop window for a preset: the largest window of the output aspect at `x_center` or around the ROI.

    `landscape` keeps the source framing (letterboxed to 16:9) unless a ROI asks for a crop. A ROI that
    does not fit the window widens it; the remainder is then padded rather than cut.
    """
    width, height = output_size(aspect, src_h, landscape_max_height, square_size)
    if aspect == Aspect.LANDSCAPE and roi is None:
        return Geometry(width, height, None)
    target = width / height
    if src_w / src_h > target:
        win_w, win_h = min(src_w, even(src_h * target)), src_h
    else:
        win_w, win_h = src_w, min(src_h, even(src_w / target))
    if roi is not None:
        roi = _clip_rect(roi, src_w, src_h)
        win_w, win_h = max(win_w, roi.w), max(win_h, roi.h)
        cx, cy = roi.x + roi.w / 2, roi.y + roi.h / 2
    else:
        xc = 0.5 if x_center is None else x_center
        if not 0.0 <= xc <= 1.0 or math.isnan(xc):
            raise InvalidInput("crop x_center must be between 0 and 1")
        cx, cy = xc * src_w, src_h / 2
    x = round(min(max(cx - win_w / 2, 0), src_w - win_w))
    y = round(min(max(cy - win_h / 2, 0), src_h - win_h))
    if (x, y, win_w, win_h) == (0, 0, src_w, src_h):
        return Geometry(width, height, None)
    return Geometry(width, height, Rect(x, y, win_w, win_h))


def _clip_rect(rect: Rect, src_w: int, src_h: int) -> Rect:
    x, y = max(0, min(rect.x, src_w - 1)), max(0, min(rect.y, src_h - 1))
    w, h = max(2, min(rect.w, src_w - x)), max(2, min(rect.h, src_h - y))
    if rect.w <= 0 or rect.h <= 0:
        raise InvalidInput("crop region of interest needs a positive width and height")
    return Rect(x, y, w, h)


def frame_rate(info: MediaInfo) -> Fraction:
    """The source frame rate as an exact fraction (29.97 -> 30000/1001); 25 when unknown."""
    if info.fps <= 0 or not math.isfinite(info.fps):
        return Fraction(25)
    return Fraction(info.fps).limit_denominator(1001)


def snap_range(start: float, end: float, rate: Fraction, media_duration: float) -> tuple[float, float]:
    """(start, duration) on the source frame grid; InvalidInput for empty ranges or ones outside the media."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InvalidInput("start and end must be finite numbers")
    if start < 0:
        raise InvalidInput(f"start {start:.3f}s is before the beginning of the media")
    if start >= end:
        raise InvalidInput(f"start ({start:.3f}s) must be before end ({end:.3f}s)")
    frame = 1 / float(rate)
    if end > media_duration + frame:
        raise InvalidInput(f"end {end:.3f}s is past the end of the media ({media_duration:.3f}s)")
    first = round(start * rate)
    last = min(round(end * rate), math.floor(media_duration * rate + 1e-6))
    if last <= first:
        raise InvalidInput("the range is shorter than one frame")
    return float(first / rate), float((last - first) / rate)


def whole_frames(seconds: float, rate: Fraction) -> float:
    """`seconds` rounded to a whole number of frames, at least one."""
    return float(max(1, round(seconds * rate)) / rate)


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """Wrap text into at most `max_lines` lines of about `width` characters, ending with … if cut."""
    lines = textwrap.wrap(text, width=max(4, width), break_long_words=True, break_on_hyphens=False)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(1, width - 1)].rstrip() + "…"
    return lines


def clean_text(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """One line of user text: control characters removed, whitespace collapsed, length capped."""
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


def _chars_per_line(width: float, font_size: int) -> int:
    """About how many characters of `font_size` fit in `width` pixels."""
    return int(width / (font_size * 0.6))


@dataclass(frozen=True)
class PlacedText:
    """One line of text, centred horizontally, its top `y` pixels down the frame."""

    text: str
    y: int
    size: int


@dataclass(frozen=True)
class LogoBox:
    """The logo's size and top-left corner in output pixels."""

    width: int
    height: int
    x: int
    y: int


@dataclass(frozen=True)
class CaptionBox:
    """Caption font size, line length and distance from the frame edge (the bottom, or the top if `top`)."""

    font_size: int
    max_chars: int
    margin_v: int
    top: bool


@dataclass(frozen=True)
class FrameLayout:
    """Where everything drawn over the snippet goes."""

    box_border: int
    logo: LogoBox | None
    title: tuple[PlacedText, ...]
    captions: CaptionBox


def frame_layout(
    aspect: Aspect,
    width: int,
    height: int,
    *,
    title: str,
    title_at_top: bool,
    logo_size: tuple[int, int] | None = None,
) -> FrameLayout:
    """Logo in the top-right corner, up to three title lines at the top or bottom, captions opposite."""
    base = min(width, height)
    margin = round(base * 0.05)
    box_border = max(4, round(base * 0.02))

    logo = None
    title_top = margin
    if logo_size is not None:
        logo_w, logo_h = logo_size
        lw = max(2, round(width * 0.14) // 2 * 2)
        lh = max(2, round(lw * logo_h / logo_w) // 2 * 2)
        logo = LogoBox(lw, lh, width - lw - margin, margin)
        title_top = margin + lh + margin // 2

    text = clean_text(title)
    title_size = max(12, round(base * 0.06))
    line_h = round(title_size * 1.6)
    lines = wrap(text, _chars_per_line(width * 0.84, title_size), 3) if text else []
    if title_at_top:
        ys = [title_top + box_border + i * line_h for i in range(len(lines))]
    else:
        bottom = height - margin - box_border
        ys = [bottom - (len(lines) - i) * line_h for i in range(len(lines))]
    placed = tuple(PlacedText(line, y, title_size) for line, y in zip(lines, ys, strict=True))

    caption_size = max(12, round(base * 0.055))
    captions_top = not title_at_top
    if captions_top:
        margin_v = margin + len(lines) * line_h + margin
    else:
        margin_v = round(height * (0.12 if aspect == Aspect.VERTICAL else 0.06))
    max_chars = min(42, _chars_per_line(width * 0.9, caption_size))
    return FrameLayout(box_border, logo, placed, CaptionBox(caption_size, max_chars, margin_v, captions_top))


def intro_card(
    width: int, height: int, *, title: str, module: str, session_name: str
) -> tuple[PlacedText, ...]:
    """The title card's lines (title, module, session), centred vertically as one block."""
    base = min(width, height)
    title_size, small = max(14, round(base * 0.08)), max(12, round(base * 0.045))
    blocks: list[tuple[str, int, int]] = []  # text, size, line step
    for text, size, max_lines in ((title, title_size, 3), (module, small, 1), (session_name, small, 2)):
        text = clean_text(text)
        if text:
            for line in wrap(text, _chars_per_line(width * 0.86, size), max_lines):
                blocks.append((line, size, round(size * 1.35)))
    y = (height - sum(step for _, _, step in blocks)) // 2
    out = []
    for line, size, step in blocks:
        out.append(PlacedText(line, y, size))
        y += step
    return tuple(out)
