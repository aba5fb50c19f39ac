"""Slide detection on real encoded video: changes found, builds and a moving inset ignored, titles read."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from aiat.store import MediaStore
from aiat_analyzer.slides import SlideParams, SlideStep, detect_slides

W, H = 640, 360
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
# (start, title, bullets shown): slide 2 builds a second bullet at 18 s.
LOOKS = [
    (0, "Newton Laws", 1),
    (10, "Friction Forces", 1),
    (18, "Friction Forces", 2),
    (26, "Energy Conservation", 1),
]


def _frame(t: float, title: str, bullets: int, rng: np.random.Generator, inset: bool) -> np.ndarray:
    img = Image.new("RGB", (W, H), (250, 250, 245))
    d = ImageDraw.Draw(img)
    d.text((24, 16), title, font=ImageFont.truetype(FONT, 34), fill=(20, 30, 80))
    for k in range(bullets):
        d.text(
            (40, 90 + 50 * k),
            f"- point {k + 1} about {title.split()[0].lower()}",
            font=ImageFont.truetype(FONT, 20),
            fill=(30, 30, 30),
        )
    a = np.asarray(img, dtype=np.int16)
    if inset:  # a speaker moving in the lower-right corner
        a[H - 120 : H - 10, W - 160 : W - 10] = (60, 70, 80)
        cx = W - 140 + int(50 * (1 + np.sin(t)))
        a[H - 100 : H - 30, cx : cx + 30] = (200, 160, 130)
    return np.clip(a + rng.integers(-6, 7, a.shape), 0, 255).astype(np.uint8)


def _video(path: Path, frames: list[np.ndarray], fps: int = 2) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())


@pytest.fixture(scope="module")
def slide_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """34 s at 2 fps: three slides, a build on the second, a moving inset, camera noise."""
    rng = np.random.default_rng(1)
    frames = []
    for i in range(68):
        t = i / 2
        look = [lk for lk in LOOKS if lk[0] <= t][-1]
        frames.append(_frame(t, look[1], look[2], rng, inset=True))
    path = tmp_path_factory.mktemp("slides") / "lecture.mp4"
    _video(path, frames)
    return path


def test_slide_changes_titles_and_no_slide_for_a_build(slide_video: Path) -> None:
    """Three slides at 0, 10 and 26 s (the 18 s build is the same slide); each title read by OCR."""
    slides = detect_slides(slide_video, SlideParams(sample_fps=2.0))
    assert [round(s.start) for s in slides] == [0, 10, 26]
    assert [s.title for s in slides] == ["Newton Laws", "Friction Forces", "Energy Conservation"]


def test_a_video_without_slides_gives_none(tmp_path: Path) -> None:
    """A talking head (the whole picture moving) and an audio-only file: no slides, no error."""
    rng = np.random.default_rng(2)
    frames = []
    for i in range(40):
        a = np.full((H, W, 3), 90, np.int16)
        x = int(200 + 150 * np.sin(i / 3))
        a[60:300, x : x + 160] = (200, 160, 130)
        frames.append(np.clip(a + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8))
    store = MediaStore(tmp_path)
    _video(tmp_path / "head.mp4", frames)
    step = SlideStep(store, SlideParams(sample_fps=2.0, ocr=False))
    assert step.run("head.mp4", "", lambda *_: None, threading.Event()) == []
    with av.open(str(tmp_path / "voice.m4a"), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    assert step.run("voice.m4a", "", lambda *_: None, threading.Event()) == []


def test_the_step_writes_thumbnails_into_the_store_and_reports_progress(
    slide_video: Path, tmp_path: Path
) -> None:
    """Thumbnails land under the given store directory; progress counts seconds of video."""
    store = MediaStore(tmp_path)
    (tmp_path / "sessions").mkdir()
    (tmp_path / "sessions" / "lecture.mp4").write_bytes(slide_video.read_bytes())
    seen: list[tuple[float, float]] = []
    slides = SlideStep(store, SlideParams(sample_fps=2.0, ocr=False), max_rate=1.0).run(
        "sessions/lecture.mp4", "output/1/slides", lambda d, t: seen.append((d, t)), threading.Event()
    )
    assert [s.thumbnail for s in slides] == [f"output/1/slides/slide-00{i}.jpg" for i in (1, 2, 3)]
    assert all((tmp_path / s.thumbnail).stat().st_size > 0 for s in slides)
    assert seen and seen[-1][0] <= seen[-1][1] and seen[-1][0] > 30


def test_a_video_missing_from_the_store_means_no_slides(tmp_path: Path) -> None:
    """An analyzer that does not share the worker's store still analyses (without slides)."""
    step = SlideStep(MediaStore(tmp_path), SlideParams(ocr=False))
    assert step.run("sessions/9/lecture.mp4", "", lambda *_: None, threading.Event()) == []
