"""The slide detector decodes only the frames others refer to: about half of a 25 fps H.264 recording."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from aiat.safe_media import open_media
from aiat_analyzer.slides import SlideParams, decoded_frames, detect_slides

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
FPS = 25
CHANGES = (0, 4, 8)  # seconds at which a new slide shows


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s at 25 fps, H.264 with B-frames (libx264's defaults), a new slide every 4 s, a moving inset."""
    path = tmp_path_factory.mktemp("decoding") / "lecture.mp4"
    font = ImageFont.truetype(FONT, 28)
    looks = []
    for k, _ in enumerate(CHANGES):
        img = Image.new("RGB", (320, 180), (250, 250, 245))
        d = ImageDraw.Draw(img)
        d.text((12, 10), f"Slide {'ABC'[k]} title", font=font, fill=(20, 30, 80))
        for b in range(3):
            d.text((20, 60 + 35 * b), f"- {'xyz'[k] * (4 + b)} {k}{b}", font=font, fill=(30, 30, 30))
        looks.append(np.asarray(img))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.options = {"preset": "veryfast", "bf": "3"}
        for i in range(12 * FPS):
            frame = looks[max(k for k, c in enumerate(CHANGES) if c * FPS <= i)].copy()
            x = 240 + int(30 * np.sin(i / 5))
            frame[130:170, x : x + 30] = (200, 160, 130)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return path


def test_non_reference_frames_are_not_decoded_and_sampling_still_covers_every_second(
    recording: Path,
) -> None:
    """At most 60 % of the frames are decoded, none more than 0.25 s apart."""
    with open_media(recording) as container:
        stream = container.streams.video[0]
        times = [float(f.time) for f in decoded_frames(container, stream) if f.time is not None]
    assert len(times) <= 0.6 * 12 * FPS
    assert times[0] == 0.0 and times[-1] > 11.5
    assert max(b - a for a, b in itertools.pairwise(times)) <= 0.25


def test_slide_changes_are_found_on_the_decoded_frames(recording: Path) -> None:
    """The three slides start where they change, within a sample."""
    slides = detect_slides(recording, SlideParams(ocr=False))
    assert [s.start for s in slides] == pytest.approx(CHANGES, abs=0.3)


def _slides_video(path: Path, seconds: int) -> None:
    """`seconds` at 2 fps, 320x180, a new slide every 10 s."""
    font = ImageFont.truetype(FONT, 22)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        look = np.zeros((0,), dtype=np.uint8)
        for i in range(seconds * 2):
            if i % 20 == 0:
                img = Image.new("RGB", (320, 180), (250, 250, 245))
                d = ImageDraw.Draw(img)
                rng = np.random.default_rng(i)
                for b in range(4):
                    word = "".join(rng.choice(list("ABCDEFGHKMNPRSTWXZ"), 12))
                    d.text((12, 10 + 40 * b), word, font=font, fill=0)
                look = np.asarray(img)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(look, format="rgb24")))
        out.mux(stream.encode())


PEAK = """
import resource, sys
from pathlib import Path
from aiat_analyzer.slides import SlideParams, detect_slides
slides = detect_slides(Path(sys.argv[1]), SlideParams(sample_fps=2.0, ocr=False))
print(len(slides), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_memory_does_not_grow_with_the_videos_length(tmp_path: Path) -> None:
    """Peak RSS of a detection on 8 min of video is within 12 MB of one on 1 min (every sampled grid
    or frame kept would add ~40 MB)."""
    peaks = []
    for seconds in (60, 480):
        path = tmp_path / f"{seconds}.mp4"
        _slides_video(path, seconds)
        out = subprocess.run(
            [sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, check=True
        )
        found, peak_kb = map(int, out.stdout.split())
        assert found == seconds // 10
        peaks.append(peak_kb)
    assert peaks[1] - peaks[0] < 12 * 1024, peaks
