"""The crop follows a real face (scikit-image's astronaut photo, shipped in its wheel) across a busy moving scene."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from aiat.aspect import Aspect
from aiat.framing import Layout
from aiat.media import ffmpeg_exe
from aiat_renderer import regions
from aiat_renderer.engine import FfmpegEngine, build_engine
from aiat_renderer.settings import RendererSettings
from aiat_renderer.spec import RenderSpec

SIDE = 220  # the photo's size in the 640x360 source; its face is about 42 px wide
SPEED = 80  # px/s to the right, under the crop's pan limit (15 % of the width per second)
SECONDS = 5.0


@pytest.fixture(scope="module")
def walk(media_root: Path) -> tuple[Path, np.ndarray]:
    """The photo moving left to right over Conway's life (every pixel keeps changing); and the face, grey."""
    photo = Image.fromarray(data.astronaut()).resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    png = media_root / "astronaut.png"
    photo.save(png)
    gray = np.asarray(photo.convert("L"))
    (x, y, w, h) = max(regions._faces(gray), key=lambda b: b[2] * b[3])
    out = media_root / "walk.mp4"
    background = "life=s=640x360:r=25:ratio=0.3:seed=7:life_color=#909090:death_color=#404040"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", background, "-loop", "1", "-framerate", "25",
         "-i", str(png), "-filter_complex", f"[0:v][1:v]overlay=x='{SPEED}*t':y=70:shortest=1,format=yuv420p",
         "-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast", str(out)],
        check=True,
    )  # fmt: skip
    return out, gray[y : y + h, x : x + w]


@pytest.fixture(scope="module")
def square(settings: RendererSettings) -> FfmpegEngine:
    """An engine rendering 360x360 squares (the 360 px crop window 1:1), the analysis unhurried on a busy CPU."""
    engine = build_engine(settings.model_copy(update={"square_size": 360, "analysis_timeout_seconds": 300.0}))
    engine.load()
    return engine


def face_seen(frame: np.ndarray, face: np.ndarray) -> float:
    """How well the whole face appears somewhere in the frame (normalised correlation, 1 = exactly)."""
    found = cv2.matchTemplate(frame, face, cv2.TM_CCOEFF_NORMED)
    return float(found.max())


def render(engine: FfmpegEngine, name: str, **spec: object) -> list[np.ndarray]:
    """Render the walk as a square crop; frames at 0.2, 2.5 and 4.8 s, grey."""
    engine.render(
        RenderSpec(source_path="walk.mp4", start=0.0, end=SECONDS, output_path=f"output/{name}.mp4",
                   aspect=Aspect.SQUARE, intro_enabled=False, captions_enabled=False, **spec),  # type: ignore[arg-type]
        lambda _p: None,
        threading.Event(),
    )  # fmt: skip
    wanted = {5, 62, 120}
    shots = []
    with av.open(str(engine.settings.media_root / "output" / f"{name}.mp4")) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                shots.append(np.asarray(frame.to_ndarray(format="gray")))
    assert len(shots) == len(wanted)
    return shots


def test_the_crop_keeps_a_walking_face_in_the_frame(
    square: FfmpegEngine, walk: tuple[Path, np.ndarray]
) -> None:
    _, face = walk
    followed = render(square, "walk-crop", layout=Layout.CROP)
    assert all(face_seen(shot, face) >= 0.9 for shot in followed), [face_seen(s, face) for s in followed]
    # The frame-difference path sees nothing here (the whole picture moves): the face detector found it.
    centre = render(square, "walk-centre", layout=Layout.CROP, x_center=0.5)
    assert min(face_seen(shot, face) for shot in centre) < 0.6
