"""Pure render layout: output size, crop window, frame grid, and where title, logo, intro and captions go."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
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
        roi = clip_rect(roi, src_w, src_h)
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


def clip_rect(rect: Rect, src_w: int, src_h: int) -> Rect:
    """`rect` moved and cut to lie inside the source frame; InvalidInput when it has no area."""
    x, y = max(0, min(rect.x, src_w - 2)), max(0, min(rect.y, src_h - 2))  # room for the 2 px minimum
    # At least 2 px, but never more than the frame has (a 1 px wide source).
    w, h = min(max(2, rect.w), src_w - x), min(max(2, rect.h), src_h - y)
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
    clear: tuple[int, int] | None = None,
) -> FrameLayout:
    """Logo in the top-right corner, up to three title lines at the top or bottom, captions opposite.

    With `clear` (the output rows of slide text, from a fit or stack composition) the title and captions
    hug that range from above and below instead of the frame edges, so they never cover it.
    """
    base = min(width, height)
    margin = round(base * 0.05)
    box_border = max(4, round(base * 0.02))

    logo = None
    title_top = margin
    if logo_size is not None:
        lw, lh = logo_box(width, height, logo_size)
        logo = LogoBox(lw, lh, width - lw - margin, margin)
        title_top = margin + lh + margin // 2

    title_size = max(12, round(base * 0.06))
    line_h = round(title_size * 1.6)
    lines = title_lines(width, height, title)
    caption_size = max(12, round(base * 0.055))
    max_chars = min(42, _chars_per_line(width * 0.9, caption_size))
    if clear is not None:
        gap = margin // 2
        top, bottom = clear
        block = len(lines) * line_h
        title_y = top - gap - block + box_border if title_at_top else bottom + gap + box_border
        title_y = max(0, min(title_y, height - block))
        placed = tuple(PlacedText(line, title_y + i * line_h, title_size) for i, line in enumerate(lines))
        caption_edge = bottom + gap if title_at_top else height - top + gap
        caption_edge = max(0, min(caption_edge, height - 2 * round(caption_size * 1.3)))
        box = CaptionBox(caption_size, max_chars, caption_edge, title_at_top)
        return FrameLayout(box_border, logo, placed, box)
    if title_at_top:
        ys = [title_top + box_border + i * line_h for i in range(len(lines))]
    else:
        bottom = height - margin - box_border
        ys = [bottom - (len(lines) - i) * line_h for i in range(len(lines))]
    placed = tuple(PlacedText(line, y, title_size) for line, y in zip(lines, ys, strict=True))

    captions_top = not title_at_top
    if captions_top:
        margin_v = margin + len(lines) * line_h + margin
    else:
        margin_v = round(height * (0.12 if aspect == Aspect.VERTICAL else 0.06))
    return FrameLayout(box_border, logo, placed, CaptionBox(caption_size, max_chars, margin_v, captions_top))


def intro_card(
    width: int, height: int, *, title: str, module: str, session_name: str
) -> tuple[PlacedText, ...]:
    """The title card's lines (title, module, session), centred vertically as one block.

    A long title is wrapped whole, never cut: the font shrinks until every line fits the card.
    """
    base = min(width, height)
    small = max(12, round(base * 0.045))
    title = clean_text(title)
    title_size = max(14, round(base * 0.08))
    while (
        title_size > small and len(_wrap_whole(title, width, title_size)) * title_size * 1.35 > height * 0.6
    ):
        title_size -= 2
    blocks: list[tuple[str, int, int]] = []  # text, size, line step
    for line in _wrap_whole(title, width, title_size):
        blocks.append((line, title_size, round(title_size * 1.35)))
    for text, max_lines in ((module, 1), (session_name, 2)):
        text = clean_text(text)
        if text:
            for line in wrap(text, _chars_per_line(width * 0.86, small), max_lines):
                blocks.append((line, small, round(small * 1.35)))
    y = (height - sum(step for _, _, step in blocks)) // 2
    out = []
    for line, size, step in blocks:
        out.append(PlacedText(line, y, size))
        y += step
    return tuple(out)


def _wrap_whole(text: str, width: int, size: int) -> list[str]:
    """Every word of `text` on lines that fit 86 % of `width` at `size` (bold glyphs are ~0.68 em wide)."""
    if not text:
        return []
    chars = max(4, int(width * 0.86 / (size * 0.68)))
    return textwrap.wrap(text, width=chars, break_long_words=True, break_on_hyphens=False)


def title_lines(width: int, height: int, title: str) -> list[str]:
    """The burned-in title's lines: up to three (fewer in a tiny frame), ending with … if cut."""
    text = clean_text(title)
    size = max(12, round(min(width, height) * 0.06))
    max_lines = max(1, min(3, int(height * 0.4) // round(size * 1.6)))
    return wrap(text, _chars_per_line(width * 0.84, size), max_lines) if text else []


def clear_bands(
    width: int, height: int, *, title: str, captions: bool, title_at_top: bool, logo_h: int = 0
) -> tuple[int, int]:
    """Rows to keep free above and below slide text: the title's lines and two caption lines, with margins."""
    base = min(width, height)
    margin = round(base * 0.05)
    box_border = max(4, round(base * 0.02))
    n = len(title_lines(width, height, title))
    title_h = n * round(max(12, round(base * 0.06)) * 1.6) + 2 * box_border + margin + margin // 2 if n else 0
    caption_h = 2 * round(max(12, round(base * 0.055)) * 1.3) + margin + margin // 2 if captions else 0
    upper, lower = (title_h, caption_h) if title_at_top else (caption_h, title_h)
    if logo_h and upper > 0:
        # The logo sits in the top-right corner; it takes rows only when text there would run into it.
        upper += margin + logo_h
    return max(upper, margin), max(lower, margin)


def logo_box(width: int, height: int, logo_size: tuple[int, int]) -> tuple[int, int]:
    """The logo's drawn size: 14 % of the frame width wide, at most 14 % of its height high, aspect kept."""
    lw = max(2, round(width * 0.14) // 2 * 2)
    lh = max(2, round(lw * logo_size[1] / logo_size[0]) // 2 * 2)
    cap = max(2, round(height * 0.14) // 2 * 2)
    if lh > cap:
        lw, lh = max(2, round(cap * logo_size[0] / logo_size[1]) // 2 * 2), cap
    return lw, lh


def logo_height(width: int, height: int, logo_size: tuple[int, int] | None) -> int:
    """Height of the drawn logo; 0 without a logo."""
    return logo_box(width, height, logo_size)[1] if logo_size is not None else 0


@dataclass(frozen=True)
class Tile:
    """A source rectangle (None: the whole frame) scaled into `target`, a rectangle of the output."""

    source: Rect | None
    target: Rect


@dataclass(frozen=True)
class Composition:
    """A fit or stack frame: tiles over a filled background, and the output rows (`clear`) nothing may cover."""

    width: int
    height: int
    tiles: tuple[Tile, ...]
    clear: tuple[int, int]


MIN_SLIDE_SHARE = 0.8  # of the width (and height) a slide would have with no title or caption bands


def _between_bands(height: int, upper: int, lower: int, top: float, bottom: float, block: int) -> int:
    """Top row of a block `block` high whose text rows [top, bottom] (block-relative) sit between the bands.

    When the text is taller than the room between the bands, the overflow is split over both bands (the
    title and captions then overlay the text's outer rows); the block never leaves the frame.
    """
    lo, hi = upper - top, height - lower - bottom
    y = min(max((height - block) / 2, lo), hi) if lo <= hi else (lo + hi) / 2
    return round(min(max(y, 0), max(0, height - block)))


def _clear(height: int, upper: int, lower: int, top: int, bottom: int) -> tuple[int, int]:
    """Rows of text to keep clear, pulled inside the bands so the title and captions stay in the frame."""
    return max(top, upper), min(bottom, height - lower)


def compose_fit(
    width: int, height: int, src_w: int, src_h: int, *, keep: Rect | None, bands: tuple[int, int]
) -> Composition:
    """The whole frame, as large as fits with `keep` (the slide text) between the title and caption bands.

    The frame never shrinks below MIN_SLIDE_SHARE of its size without bands: past that the bands overlay it.
    """
    upper, lower = bands
    k = clip_rect(keep, src_w, src_h) if keep is not None else Rect(0, 0, src_w, src_h)
    whole = min(width / src_w, height / src_h)
    scale = max(min(whole, max(1, height - upper - lower) / k.h), MIN_SLIDE_SHARE * whole)
    vw, vh = min(width, even(src_w * scale)), min(height, even(src_h * scale))
    scale = min(vw / src_w, vh / src_h)
    top, bottom = k.y * scale, (k.y + k.h) * scale
    y = _between_bands(height, upper, lower, top, bottom, vh)
    x = (width - vw) // 2
    clear = _clear(height, upper, lower, y + round(top), y + round(bottom))
    return Composition(width, height, (Tile(None, Rect(x, y, vw, vh)),), clear)


def compose_stack(
    width: int, height: int, slide: Rect, speaker: Rect, *, src_w: int, src_h: int, bands: tuple[int, int]
) -> Composition | None:
    """The slide at full width with the speaker below, centred between the bands; None if the speaker gets tiny.

    The slide keeps the full width in a vertical frame (MIN_SLIDE_SHARE of it otherwise) however tall the
    bands are; past that the title and captions overlay the stack's outer rows.
    """
    upper, lower = bands
    slide, speaker = clip_rect(slide, src_w, src_h), clip_rect(speaker, src_w, src_h)
    gap = round(min(width, height) * 0.025)
    avail = height - upper - lower - gap
    unbanded = min(width / slide.w, 0.62 * (height - gap) / slide.h)
    share = 1.0 if height > width else MIN_SLIDE_SHARE
    s_scale = max(min(width / slide.w, 0.62 * avail / slide.h), share * unbanded)
    sw, sh = min(width, even(slide.w * s_scale)), min(height, even(slide.h * s_scale))
    room = avail if sh <= 0.62 * avail else height - gap
    p_scale = min(width / speaker.w, (room - sh) / speaker.h)
    if p_scale <= 0:
        return None
    pw, ph = min(width, even(speaker.w * p_scale)), even(speaker.h * p_scale)
    if ph < 0.12 * height or pw < 0.2 * width or sh + gap + ph > height:
        return None
    block = sh + gap + ph
    top = _between_bands(height, upper, lower, 0, block, block)
    tiles = (
        Tile(slide, Rect((width - sw) // 2, top, sw, sh)),
        Tile(speaker, Rect((width - pw) // 2, top + sh + gap, pw, ph)),
    )
    return Composition(width, height, tiles, _clear(height, upper, lower, top, top + block))


def union(a: Rect, b: Rect) -> Rect:
    """The smallest rectangle holding both."""
    x, y = min(a.x, b.x), min(a.y, b.y)
    return Rect(x, y, max(a.x + a.w, b.x + b.w) - x, max(a.y + a.h, b.y + b.h) - y)


def crop_path(
    centres: Sequence[tuple[float, float]], win_w: int, src_w: int, *, max_speed: float, hold: float
) -> tuple[tuple[float, int], ...]:
    """Left edges of a crop window over time that keep the speaker's centres in frame without jitter.

    Median of five samples against detection noise, a dead band of `hold` pixels (the window stays put while
    the speaker moves inside it), then a forward and a backward pass limiting the pan to `max_speed` px/s,
    so the window starts moving before the speaker leaves it instead of lagging behind.
    """
    if not centres:
        return ()
    times = [t for t, _ in centres]
    xs = [x for _, x in centres]
    med = [sorted(xs[max(0, i - 2) : i + 3])[len(xs[max(0, i - 2) : i + 3]) // 2] for i in range(len(xs))]
    held = [med[0]]
    for x in med[1:]:
        held.append(held[-1] if abs(x - held[-1]) <= hold else x - math.copysign(hold, x - held[-1]))
    for order in (range(1, len(held)), range(len(held) - 2, -1, -1)):
        for i in order:
            j = i - 1 if order.step == 1 else i + 1
            step = max_speed * abs(times[i] - times[j])
            held[i] = min(max(held[i], held[j] - step), held[j] + step)
    lefts = [round(min(max(x - win_w / 2, 0), src_w - win_w)) for x in held]
    if max(lefts) - min(lefts) <= 2:
        return ((times[0], round(sum(lefts) / len(lefts))),)
    points = [(times[0], lefts[0])]
    for i in range(1, len(lefts) - 1):
        if lefts[i] != lefts[i - 1] or lefts[i] != lefts[i + 1]:
            points.append((times[i], lefts[i]))
    points.append((times[-1], lefts[-1]))
    return tuple(points)
