"""Fit and stack over many source sizes, aspects and overlays: everything in the frame, the slide never tiny."""

from __future__ import annotations

import itertools

import pytest

from aiat.aspect import Aspect
from aiat_renderer.layout import (
    MIN_SLIDE_SHARE,
    Composition,
    Rect,
    clear_bands,
    compose_fit,
    compose_stack,
    frame_layout,
    logo_height,
    output_size,
)

SOURCES = [
    (1280, 720), (1920, 1080), (3840, 2160), (7680, 4320), (640, 360), (320, 240), (160, 120), (64, 36),
    (1024, 768), (640, 480), (720, 1280), (1080, 1920), (480, 640), (100, 400), (1000, 1000),
]  # fmt: skip
TITLES = ["", "Conjunctive Normal Form and the Resolution Principle for Propositional Logic"]
LOGOS = [None, (200, 100), (100, 300)]
TOLERANCE = 2  # even rounding


def _text_rect(w: int, h: int) -> Rect:
    return Rect(round(w * 0.02), round(w * 0.04), max(2, round(w * 0.72)), max(2, round(h * 0.6)))


def _speaker(w: int, h: int) -> Rect:
    return Rect(round(w * 0.72), round(h * 0.6), max(2, round(w * 0.26)), max(2, round(h * 0.38)))


def _inside(r: Rect, width: int, height: int) -> None:
    assert 0 <= r.x and 0 <= r.y and r.x + r.w <= width and r.y + r.h <= height, (r, width, height)
    assert r.w % 2 == 0 and r.h % 2 == 0 and r.w >= 2 and r.h >= 2, r


def _overlays_inside(
    comp: Composition, aspect: Aspect, title: str, top: bool, logo: tuple[int, int] | None, captions: bool
) -> None:
    w, h = comp.width, comp.height
    layout = frame_layout(aspect, w, h, title=title, title_at_top=top, logo_size=logo, clear=comp.clear)
    for line in layout.title:
        assert 0 <= line.y and line.y + line.size <= h, (line, w, h)
    if layout.logo is not None:
        box = layout.logo
        assert 0 <= box.x and box.x + box.width <= w and 0 <= box.y and box.y + box.height <= h
    two_lines = 2 * round(layout.captions.font_size * 1.3)
    assert not captions or 0 <= layout.captions.margin_v <= h - two_lines, (layout.captions, w, h)


CASES = list(itertools.product(SOURCES, Aspect, LOGOS, TITLES, (True, False), (True, False)))


@pytest.mark.parametrize(("src", "aspect", "logo", "title", "captions", "top"), CASES)
def test_fit_stays_in_the_frame_and_keeps_the_slide_large(
    src: tuple[int, int],
    aspect: Aspect,
    logo: tuple[int, int] | None,
    title: str,
    captions: bool,
    top: bool,
) -> None:
    src_w, src_h = src
    width, height = output_size(aspect, src_h, 1080, 1080)
    bands = clear_bands(
        width,
        height,
        title=title,
        captions=captions,
        title_at_top=top,
        logo_h=logo_height(width, height, logo),
    )
    whole = min(width / src_w, height / src_h)
    for keep in (None, _text_rect(src_w, src_h)):
        comp = compose_fit(width, height, src_w, src_h, keep=keep, bands=bands)
        (tile,) = comp.tiles
        _inside(tile.target, width, height)
        assert tile.target.w >= MIN_SLIDE_SHARE * whole * src_w - TOLERANCE
        assert tile.target.h >= MIN_SLIDE_SHARE * whole * src_h - TOLERANCE
        _overlays_inside(comp, aspect, title, top, logo, captions)

    slide, speaker = _text_rect(src_w, src_h), _speaker(src_w, src_h)
    stack = compose_stack(width, height, slide, speaker, src_w=src_w, src_h=src_h, bands=bands)
    if stack is None:
        return  # the engine falls back to fit, checked above
    for tile in stack.tiles:
        _inside(tile.target, width, height)
    gap = round(min(width, height) * 0.025)
    unbanded = min(width / slide.w, 0.62 * (height - gap) / slide.h)
    share = 1.0 if height > width else MIN_SLIDE_SHARE
    assert stack.tiles[0].target.w >= share * unbanded * slide.w - TOLERANCE
    _overlays_inside(stack, aspect, title, top, logo, captions)


def test_a_slide_lecture_with_a_logo_keeps_its_slide_wide() -> None:
    """The reported cases: 1280x720 landscape and 1080 square with a logo, title and captions."""
    for aspect, expect_w in ((Aspect.LANDSCAPE, 1280), (Aspect.SQUARE, 1080)):
        width, height = output_size(aspect, 720, 1080, 1080)
        bands = clear_bands(
            width,
            height,
            title=TITLES[1],
            captions=True,
            title_at_top=True,
            logo_h=logo_height(width, height, (200, 100)),
        )
        comp = compose_fit(width, height, 1280, 720, keep=_text_rect(1280, 720), bands=bands)
        assert comp.tiles[0].target.w >= MIN_SLIDE_SHARE * expect_w - TOLERANCE
