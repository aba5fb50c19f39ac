"""Unit tests of the renderer's plain functions: escaping, geometry, frame grid, captions, request mapping."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import pytest

from aiat.errors import InvalidInput
from aiat.renderer.v1 import renderer_pb2
from aiat_renderer import captions
from aiat_renderer.engine import snap_range, wrap
from aiat_renderer.filters import Rect, ass_color, compute_geometry, escape_value, parse_color
from aiat_renderer.fonts import font_family, resolve_font
from aiat_renderer.servicer import job_from_request
from aiat_renderer.settings import DEJAVU, RendererSettings


def test_escape_value_both_levels() -> None:
    assert escape_value("/tmp/a b/c.txt") == "/tmp/a b/c.txt"
    assert escape_value("a:b") == "a\\\\:b"
    assert escape_value("it's") == "it\\\\\\'s"
    assert escape_value("x[1],y;z") == "x\\[1\\]\\,y\\;z"
    assert escape_value("back\\slash") == "back\\\\\\\\slash"
    with pytest.raises(InvalidInput):
        escape_value("line\nbreak")


def test_parse_color() -> None:
    names = {"white": "ffffff", "darkorange": "ff8c00"}
    assert parse_color("#FF8800", names) == "0xff8800"
    assert parse_color("0x00aa11", names) == "0x00aa11"
    assert parse_color("DarkOrange", names) == "0xff8c00"
    assert ass_color("0xff8800") == "&H000088FF"
    for bad in ("red:x=1", "#12345", "nosuchcolour", "white@0.5,drawbox"):
        with pytest.raises(InvalidInput):
            parse_color(bad, names)


def test_geometry_presets() -> None:
    land = compute_geometry("landscape", 1280, 720)
    assert (land.width, land.height, land.crop) == (1280, 720, None)
    vert = compute_geometry("vertical", 1280, 720)
    assert (vert.width, vert.height) == (1080, 1920)
    assert vert.crop == Rect(438, 0, 404, 720)  # 9:16 window, centred
    left = compute_geometry("vertical", 1280, 720, x_center=0.0)
    assert left.crop is not None and left.crop.x == 0
    right = compute_geometry("vertical", 1280, 720, x_center=1.0)
    assert right.crop is not None and right.crop.x + right.crop.w == 1280
    square = compute_geometry("square", 1280, 720, roi=Rect(1000, 100, 100, 100))
    assert square.crop == Rect(560, 0, 720, 720)  # keeps the ROI in frame, clamped to the edge
    wide_roi = compute_geometry("vertical", 1280, 720, roi=Rect(100, 0, 1000, 720))
    assert wide_roi.crop is not None and wide_roi.crop.w >= 1000  # wider than 9:16: padded, not cut
    assert compute_geometry("landscape", 640, 480).width == 854
    with pytest.raises(InvalidInput):
        compute_geometry("vertical", 1280, 720, x_center=1.5)


def test_snap_range_frame_grid() -> None:
    rate = Fraction(25)
    assert snap_range(1.02, 4.0, rate, 10.0) == (1.04, pytest.approx(2.96))
    start, dur = snap_range(1.0, 2.0, Fraction(30000, 1001), 10.0)
    assert start == pytest.approx(30 * 1001 / 30000)
    assert dur == pytest.approx(30 * 1001 / 30000)
    for start, end in ((2.0, 2.0), (3.0, 2.0), (-1.0, 2.0), (1.0, 12.0), (1.0, 1.01)):
        with pytest.raises(InvalidInput):
            snap_range(start, end, rate, 10.0)


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


def test_wrap_ellipsis() -> None:
    lines = wrap("word " * 40, 20, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")


def test_fonts() -> None:
    default = DEJAVU / "DejaVuSans-Bold.ttf"
    dirs = [Path("/usr/share/fonts")]
    assert resolve_font("", dirs, default) == default
    assert resolve_font("DejaVu Serif", dirs, default).name == "DejaVuSerif.ttf"
    assert resolve_font("DejaVuSansMono.ttf", dirs, default).name == "DejaVuSansMono.ttf"
    for bad in ("No Such Font", "/etc/passwd.ttf"):
        with pytest.raises(InvalidInput):
            resolve_font(bad, dirs, default)
    assert font_family(default) == ("DejaVu Sans", True)


def test_job_from_request_defaults_and_overrides() -> None:
    job = job_from_request(
        renderer_pb2.RenderRequest(source_path="a.mp4", start=1, end=2, output_path="o.mp4")
    )
    assert job.aspect is None and job.intro_enabled is None and job.captions_enabled is None
    assert job.normalize_audio is None and job.x_center is None and job.roi is None
    style = renderer_pb2.RenderStyle(
        aspect=renderer_pb2.ASPECT_VERTICAL,
        crop=renderer_pb2.Crop(x_center=0.25, roi_w=10, roi_h=10),
        intro=renderer_pb2.Intro(enabled=False),
        captions=renderer_pb2.Captions(enabled=True, write_srt=False),
        normalize_audio=False,
    )
    job = job_from_request(renderer_pb2.RenderRequest(style=style))
    assert (job.aspect, job.x_center, job.roi) == ("vertical", 0.25, Rect(0, 0, 10, 10))
    assert (job.intro_enabled, job.captions_enabled, job.write_srt, job.normalize_audio) == (
        False,
        True,
        False,
        False,
    )


def test_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAT_RENDERER_ENCODER", "libx264")
    monkeypatch.setenv("AIAT_RENDERER_DEFAULT_ASPECT", "vertical")
    monkeypatch.setenv("AIAT_RENDERER_INTRO_SECONDS", "1.5")
    s = RendererSettings()
    assert (s.encoder, s.default_aspect, s.intro_seconds, s.x264_preset) == (
        "libx264",
        "vertical",
        1.5,
        "superfast",
    )


def test_caption_words_with_non_finite_times_are_dropped() -> None:
    from aiat_renderer.captions import shift_words

    words = [(float("nan"), 2.0, "bad"), (1.0, float("inf"), "worse"), (1.0, 1.5, "good")]
    assert [w.text for w in shift_words(words, 0.0, 10.0)] == ["good"]
