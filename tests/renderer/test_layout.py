"""Pure layout arithmetic, without ffmpeg: output size, crop window, frame grid, text placement."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from aiat.aspect import Aspect
from aiat.errors import InvalidInput
from aiat.media import MediaInfo
from aiat_renderer.layout import (
    CaptionBox,
    LogoBox,
    PlacedText,
    Rect,
    clean_text,
    clear_bands,
    clip_rect,
    compose_fit,
    compose_stack,
    compute_geometry,
    crop_path,
    frame_layout,
    frame_rate,
    intro_card,
    snap_range,
    whole_frames,
    wrap,
)


def test_geometry_presets() -> None:
    land = compute_geometry(Aspect.LANDSCAPE, 1280, 720)
    assert (land.width, land.height, land.crop) == (1280, 720, None)
    vert = compute_geometry(Aspect.VERTICAL, 1280, 720)
    assert (vert.width, vert.height) == (1080, 1920)
    assert vert.crop == Rect(438, 0, 404, 720)  # 9:16 window, centred
    left = compute_geometry(Aspect.VERTICAL, 1280, 720, x_center=0.0)
    assert left.crop is not None and left.crop.x == 0
    right = compute_geometry(Aspect.VERTICAL, 1280, 720, x_center=1.0)
    assert right.crop is not None and right.crop.x + right.crop.w == 1280
    square = compute_geometry(Aspect.SQUARE, 1280, 720, roi=Rect(1000, 100, 100, 100))
    assert square.crop == Rect(560, 0, 720, 720)  # keeps the ROI in frame, clamped to the edge
    wide_roi = compute_geometry(Aspect.VERTICAL, 1280, 720, roi=Rect(100, 0, 1000, 720))
    assert wide_roi.crop is not None and wide_roi.crop.w >= 1000  # wider than 9:16: padded, not cut
    assert compute_geometry(Aspect.LANDSCAPE, 640, 480).width == 854
    with pytest.raises(InvalidInput):
        compute_geometry(Aspect.VERTICAL, 1280, 720, x_center=1.5)


def test_snap_range_frame_grid() -> None:
    rate = Fraction(25)
    start, dur = snap_range(1.02, 4.0, rate, 10.0)
    assert start == 1.04
    assert dur == pytest.approx(2.96)
    start, dur = snap_range(1.0, 2.0, Fraction(30000, 1001), 10.0)
    assert start == pytest.approx(30 * 1001 / 30000)
    assert dur == pytest.approx(30 * 1001 / 30000)
    for start, end in ((2.0, 2.0), (3.0, 2.0), (-1.0, 2.0), (1.0, 12.0), (1.0, 1.01)):
        with pytest.raises(InvalidInput):
            snap_range(start, end, rate, 10.0)


def test_wrap_ellipsis() -> None:
    lines = wrap("word " * 40, 20, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")


def test_frame_rate_is_exact_and_defaults_to_25() -> None:
    def info(fps: float) -> MediaInfo:
        return MediaInfo(duration=1.0, format_name="mp4", has_video=True, has_audio=False, fps=fps)

    assert frame_rate(info(29.97002997)) == Fraction(30000, 1001)
    assert frame_rate(info(25.0)) == Fraction(25)
    assert frame_rate(info(0.0)) == frame_rate(info(float("nan"))) == Fraction(25)


def test_whole_frames_rounds_to_the_grid_and_keeps_one_frame() -> None:
    assert whole_frames(2.0, Fraction(25)) == 2.0
    assert whole_frames(1.01, Fraction(25)) == pytest.approx(1.0)
    assert whole_frames(0.001, Fraction(25)) == pytest.approx(0.04)


def test_clean_text_removes_controls_and_caps_length() -> None:
    assert clean_text("a\tb\n\x00 c   d") == "a b c d"
    assert len(clean_text("x" * 1000)) == 300


def test_title_on_top_under_the_logo_and_captions_at_the_bottom() -> None:
    layout = frame_layout(
        Aspect.LANDSCAPE, 1920, 1080, title="Title", title_at_top=True, logo_size=(200, 100)
    )
    # base 1080: margin 54, box border 22; the logo is 14 % of the width (even), aspect kept.
    assert layout.box_border == 22
    assert layout.logo == LogoBox(268, 134, 1920 - 268 - 54, 54)
    assert layout.title == (PlacedText("Title", 54 + 134 + 27 + 22, 65),)
    assert layout.captions == CaptionBox(font_size=59, max_chars=42, margin_v=65, top=False)


def test_title_at_the_bottom_moves_captions_to_the_top() -> None:
    layout = frame_layout(Aspect.VERTICAL, 1080, 1920, title="word " * 30, title_at_top=False)
    assert layout.logo is None
    assert len(layout.title) == 3 and layout.title[-1].text.endswith("…")
    line_h = round(65 * 1.6)
    ys = [t.y for t in layout.title]
    assert ys == [1920 - 54 - 22 - (3 - i) * line_h for i in range(3)]
    assert layout.captions.top and layout.captions.margin_v == 54 + 3 * line_h + 54
    assert layout.captions.max_chars == 27  # narrower than 42 characters on a vertical frame


def test_vertical_captions_sit_higher_and_no_title_takes_no_room() -> None:
    vertical = frame_layout(Aspect.VERTICAL, 1080, 1920, title="", title_at_top=False)
    assert vertical.title == ()
    assert vertical.captions.margin_v == 54 + 54
    bottom = frame_layout(Aspect.VERTICAL, 1080, 1920, title="", title_at_top=True)
    assert bottom.captions.margin_v == round(1920 * 0.12)


def test_intro_card_is_centred_and_skips_empty_parts() -> None:
    card = intro_card(1920, 1080, title="Energy", module="", session_name="Week 1")
    assert [(p.text, p.size) for p in card] == [("Energy", 86), ("Week 1", 49)]
    block = round(86 * 1.35) + round(49 * 1.35)
    assert card[0].y == (1080 - block) // 2
    assert card[1].y == card[0].y + round(86 * 1.35)
    assert intro_card(1920, 1080, title="", module="", session_name="") == ()


def test_intro_card_wraps_a_long_title_whole() -> None:
    title = "Conjunctive Normal Form and the Resolution Principle for Propositional Logic " * 3
    card = intro_card(1080, 1920, title=title, module="Logic", session_name="Week 3")
    title_lines = [p for p in card if p.size > card[-1].size]
    assert " ".join(p.text for p in title_lines).split() == title.split()
    assert not any("…" in p.text for p in card)
    assert all(len(p.text) * p.size * 0.68 <= 1080 * 0.86 + p.size for p in title_lines)  # fits the width
    assert card[-1].y + card[-1].size <= 1920


def test_fit_keeps_slide_text_between_title_and_caption_bands() -> None:
    bands = clear_bands(1280, 720, title="A title", captions=True, title_at_top=True)
    keep = Rect(20, 30, 900, 400)  # slide text reaching the top of the frame
    comp = compose_fit(1280, 720, 1280, 720, keep=keep, bands=bands)
    (tile,) = comp.tiles
    assert tile.source is None
    assert 0 <= tile.target.y and tile.target.y + tile.target.h <= 720  # the whole frame stays in
    assert comp.clear[0] >= bands[0] and comp.clear[1] <= 720 - bands[1]
    layout = frame_layout(Aspect.LANDSCAPE, 1280, 720, title="A title", title_at_top=True, clear=comp.clear)
    assert layout.title[0].y + layout.title[0].size <= comp.clear[0]
    assert layout.captions.top and layout.captions.margin_v >= comp.clear[1]
    vertical = compose_fit(1080, 1920, 1280, 720, keep=keep, bands=(300, 300))
    assert vertical.tiles[0].target == Rect(0, 656, 1080, 608)  # full width, centred: the bands had room


def test_stack_puts_the_slide_on_top_at_full_width_and_the_speaker_below() -> None:
    slide, speaker = Rect(20, 30, 900, 400), Rect(900, 420, 380, 300)
    comp = compose_stack(1080, 1920, slide, speaker, src_w=1280, src_h=720, bands=(300, 260))
    assert comp is not None
    top, bottom = comp.tiles
    assert top.source == slide and top.target.w == 1080
    assert bottom.source == speaker and bottom.target.y >= top.target.y + top.target.h
    assert comp.clear == (top.target.y, bottom.target.y + bottom.target.h)
    assert 300 <= comp.clear[0] and comp.clear[1] <= 1920 - 260
    assert compose_stack(1080, 600, slide, speaker, src_w=1280, src_h=720, bands=(200, 200)) is None


def test_crop_path_holds_still_for_a_jittery_speaker_and_pans_smoothly_for_a_walking_one() -> None:
    jitter = [(i * 0.4, 640 + (25 if i % 2 else -25) + (300 if i == 7 else 0)) for i in range(20)]
    assert len(crop_path(jitter, 404, 1280, max_speed=192, hold=60)) == 1  # one outlier, small wobble
    walk = [(i * 0.4, 300 + 100 * i * 0.4 + (10 if i % 2 else -10)) for i in range(16)]
    path = crop_path(walk, 404, 1280, max_speed=192, hold=60)
    lefts = [x for _, x in path]
    assert lefts == sorted(lefts) and len(path) > 2  # never turns back
    for (t0, x0), (t1, x1) in itertools.pairwise(path):
        assert abs(x1 - x0) <= 192 * (t1 - t0) + 1
    for t, centre in walk[2:-2]:
        left = next(x for pt, x in reversed(path) if pt <= t)
        assert left - 60 <= centre <= left + 404 + 60


@pytest.mark.parametrize(
    "rect",
    [Rect(319, 10, 2, 2), Rect(400, 500, 50, 50), Rect(-20, -20, 10_000, 10_000), Rect(300, 170, 1, 1)],
)
def test_a_region_off_or_past_the_frame_is_cut_to_lie_inside_it(rect: Rect) -> None:
    """Whatever is given (a region over the edge, wholly outside, larger than the frame), the result fits."""
    out = clip_rect(rect, 320, 180)
    assert 0 <= out.x and 0 <= out.y and out.w >= 2 and out.h >= 2
    assert out.x + out.w <= 320 and out.y + out.h <= 180, out


@pytest.mark.parametrize(("src_w", "src_h"), [(1, 180), (320, 1), (1, 1), (2, 2)])
def test_a_region_on_a_frame_under_2_px_wide_or_high_stays_inside_it(src_w: int, src_h: int) -> None:
    """The 2 px minimum gives way to the frame: a 1 px wide source gets a 1 px wide region, not one past its edge."""
    for rect in (Rect(0, 0, 1, 1), Rect(5, 5, 50, 50), Rect(-3, -3, 2, 2)):
        out = clip_rect(rect, src_w, src_h)
        assert out.x >= 0 and out.y >= 0 and out.w >= 1 and out.h >= 1, out
        assert out.x + out.w <= src_w and out.y + out.h <= src_h, (rect, out)
        assert out.w >= min(2, src_w) and out.h >= min(2, src_h), out
