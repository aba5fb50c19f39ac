"""Layouts on generated lectures: real OpenCV region detection, real renders, Tesseract reading the slides back."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytesseract
import pytest

from aiat.common.v1 import transcript_pb2
from aiat.renderer.v1 import renderer_pb2
from aiat_renderer.layout import Rect
from aiat_renderer.regions import analyze
from tests.renderer.slides import FACE_COLOR, INSET, slide_lecture, slide_words, talking_head
from tests.renderer.test_engine import NO_INTRO, Stub, render

RGB = npt.NDArray[np.uint8]
WORDS = "we now turn to the normal form of formulas and see why solvers like it".split()


@pytest.fixture(scope="module")
def lectures(media_root: Path) -> Path:
    """A 6 s slide lecture (two slides, a face moving in a corner inset) and a 6 s talking head."""
    slide_lecture(media_root / "lecture.mp4", 6.0)
    talking_head(media_root / "head.mp4", 6.0)
    return media_root


def frames(path: Path, indices: set[int]) -> dict[int, RGB]:
    """Selected frames as RGB arrays."""
    out: dict[int, RGB] = {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in indices:
                out[i] = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
            if i >= max(indices):
                break
    return out


def face_pixels(img: RGB) -> int:
    """Pixels of the speaker's face colour."""
    diff = np.abs(img.astype(np.int16) - np.array(FACE_COLOR, np.int16)).max(axis=2)
    return int((diff < 40).sum())


def recall(img: RGB, words: list[str]) -> float:
    """Share of `words` Tesseract reads in the frame."""
    seen = set(pytesseract.image_to_string(img).split())
    return sum(w in seen for w in words) / len(words)


def lecture_request(aspect: int, name: str, **style: object) -> renderer_pb2.RenderRequest:
    """Cut 0.5-5.5 s of the lecture with a title and captions."""
    words = [
        transcript_pb2.Word(start=0.5 + 0.3 * i, end=0.75 + 0.3 * i, text=w) for i, w in enumerate(WORDS)
    ]
    return renderer_pb2.RenderRequest(
        source_path="lecture.mp4", start=0.5, end=5.5, output_path=f"output/{name}.mp4",
        title="Conjunctive Normal Form explained", words=words,
        style=renderer_pb2.RenderStyle(aspect=aspect, intro=NO_INTRO, **style),  # type: ignore[arg-type]
    )  # fmt: skip


def test_regions_are_found_in_the_video(lectures: Path, media_root: Path) -> None:
    lecture = analyze(media_root / "lecture.mp4", 0.5, 5.0, samples=16)
    assert lecture.has_slides and lecture.slide is not None and lecture.speaker is not None
    s = lecture.slide
    assert s.x <= 70 and s.y <= 50 and s.x + s.w >= 760 and s.y + s.h >= 400  # title and every bullet
    x, y, w, h = INSET
    p = lecture.speaker
    assert p.x <= x + w / 2 <= p.x + p.w and p.y <= y + h / 2 <= p.y + p.h
    assert p.w * p.h < 0.25 * 1280 * 720
    head = analyze(media_root / "head.mp4", 0.0, 6.0, samples=16)
    assert not head.has_slides and head.speaker is not None
    assert head.centres[0][1] < 640 < head.centres[-1][1]  # the speaker walks from left to right
    counter = analyze(media_root / "clip.mp4", 1.0, 2.0, samples=16)
    assert not counter.has_slides and counter.speaker is None  # a changing counter over moving colours


@pytest.mark.parametrize(
    ("aspect", "layout"),
    [
        (renderer_pb2.ASPECT_VERTICAL, renderer_pb2.LAYOUT_STACK),
        (renderer_pb2.ASPECT_SQUARE, renderer_pb2.LAYOUT_FIT),
        (renderer_pb2.ASPECT_LANDSCAPE, renderer_pb2.LAYOUT_FIT),
    ],
)
async def test_auto_keeps_the_slides_readable_and_the_speaker_in_frame(
    stub: Stub, lectures: Path, aspect: int, layout: int
) -> None:
    _, result = await render(stub, lecture_request(aspect, f"lecture-{aspect}"))
    assert result.layout == layout
    assert result.slide.w > 0 and result.speaker.w > 0
    # Frame 25 shows the first slide (source 1.5 s), frame 100 the second (source 4.5 s).
    shots = frames(lectures / result.output_path, {25, 100})
    for index, words in ((25, slide_words()[0]), (100, slide_words()[1])):
        assert recall(shots[index], words) >= 0.9, (aspect, index)
        assert face_pixels(shots[index]) >= 2000  # the face is on screen, not cropped away


async def test_centre_crop_cuts_the_slide_where_auto_does_not(stub: Stub, lectures: Path) -> None:
    req = lecture_request(renderer_pb2.ASPECT_VERTICAL, "lecture-crop", layout=renderer_pb2.LAYOUT_CROP)
    _, result = await render(stub, req)
    assert result.layout == renderer_pb2.LAYOUT_CROP
    assert recall(frames(lectures / result.output_path, {25})[25], slide_words()[0]) < 0.5


async def test_region_overrides_win_over_detection(stub: Stub, lectures: Path) -> None:
    x, y, w, h = INSET
    style = {
        "layout": renderer_pb2.LAYOUT_STACK,
        "slide": renderer_pb2.Region(x=0, y=0, w=940, h=430),
        "speaker": renderer_pb2.Region(x=x, y=y, w=w, h=h),
    }
    _, result = await render(stub, lecture_request(renderer_pb2.ASPECT_VERTICAL, "lecture-given", **style))
    assert result.layout == renderer_pb2.LAYOUT_STACK
    assert Rect(result.slide.x, result.slide.y, result.slide.w, result.slide.h) == Rect(0, 0, 940, 430)
    assert (result.speaker.x, result.speaker.w) == (x, w)
    shot = frames(lectures / result.output_path, {25})[25]
    assert recall(shot, slide_words()[0]) >= 0.9 and face_pixels(shot) >= 2000


async def test_auto_crop_follows_a_walking_speaker(stub: Stub, lectures: Path) -> None:
    def req(name: str, **crop: object) -> renderer_pb2.RenderRequest:
        style = renderer_pb2.RenderStyle(
            aspect=renderer_pb2.ASPECT_VERTICAL,
            intro=NO_INTRO,
            crop=renderer_pb2.Crop(**crop),  # type: ignore[arg-type]
        )
        return renderer_pb2.RenderRequest(
            source_path="head.mp4", start=0.0, end=6.0, output_path=f"output/{name}.mp4", style=style
        )

    _, follow = await render(stub, req("head-auto"))
    assert follow.layout == renderer_pb2.LAYOUT_CROP and follow.speaker.w > 0
    shots = frames(lectures / follow.output_path, {5, 75, 145})
    assert all(face_pixels(img) >= 5000 for img in shots.values())
    _, centre = await render(
        stub, req("head-centre", x_center=0.5)
    )  # an explicit crop stays where it is asked
    fixed = frames(lectures / centre.output_path, {5, 75, 145})
    assert min(face_pixels(img) for img in fixed.values()) < 1000


async def test_intro_card_shows_a_long_name_whole(stub: Stub, lectures: Path) -> None:
    title = "Conjunctive Normal Form and the Resolution Principle for Propositional Logic"
    style = renderer_pb2.RenderStyle(
        aspect=renderer_pb2.ASPECT_VERTICAL, intro=renderer_pb2.Intro(enabled=True, seconds=0.4),
        captions=renderer_pb2.Captions(enabled=False),
    )  # fmt: skip
    req = renderer_pb2.RenderRequest(
        source_path="lecture.mp4", start=1.0, end=1.4, output_path="output/intro-long.mp4", title=title,
        module="Logic", session_name="Week 3", style=style,
    )  # fmt: skip
    _, result = await render(stub, req)
    card = frames(lectures / result.output_path, {0})[0]
    assert recall(card, title.split()) == 1.0


@pytest.mark.parametrize("aspect", [renderer_pb2.ASPECT_SQUARE, renderer_pb2.ASPECT_LANDSCAPE])
async def test_a_logo_does_not_shrink_the_slide_out_of_reading(
    stub: Stub, lectures: Path, aspect: int
) -> None:
    brand = renderer_pb2.Brand(logo_path="logo.png")
    _, result = await render(stub, lecture_request(aspect, f"lecture-logo-{aspect}", brand=brand))
    assert result.layout == renderer_pb2.LAYOUT_FIT
    shot = frames(lectures / result.output_path, {25})[25]
    assert recall(shot, slide_words()[0]) >= 0.9
