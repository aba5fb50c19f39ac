"""Captions and titles in other scripts: a real render read back by Tesseract in Russian and Greek."""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import av
import numpy as np
import pytesseract
import pytest

from aiat.common.v1 import transcript_pb2
from aiat.media import ffmpeg_exe
from aiat.renderer.v1 import renderer_pb2
from tests.renderer.test_engine import NO_INTRO, Stub, render

TITLE = "Закон сохранения энергии"  # Russian: the law of conservation of energy
CAPTION = "Η ενέργεια διατηρείται πάντα"  # Greek: energy is always conserved


def frame_at(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == index:
                return np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
    raise AssertionError(f"{path} has no frame {index}")


def plain(text: str) -> str:
    """Lower case without accents (Tesseract's Greek often drops the tonos)."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def read(img: np.ndarray, lang: str) -> set[str]:
    return {plain(w.strip(".,'")) for w in pytesseract.image_to_string(img, lang=lang).split()}


@pytest.fixture(scope="module")
def plain_video(media_root: Path) -> str:
    """A 3 s dark-grey clip with a tone: a background that leaves the text alone for Tesseract."""
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=0x303030:s=640x360:r=25:d=3",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3", "-c:v", "libx264", "-c:a", "aac",
         str(media_root / "plain.mp4")],
        check=True,
    )  # fmt: skip
    return "plain.mp4"


async def test_cyrillic_title_and_greek_captions_are_burned_in_legibly(
    stub: Stub, media_root: Path, plain_video: str
) -> None:
    words = [
        transcript_pb2.Word(start=1.0 + 0.2 * i, end=1.15 + 0.2 * i, text=w)
        for i, w in enumerate(CAPTION.split())
    ]
    req = renderer_pb2.RenderRequest(
        source_path=plain_video, start=1.0, end=3.0, output_path="output/scripts.mp4", title=TITLE, words=words,
        style=renderer_pb2.RenderStyle(intro=NO_INTRO, aspect=renderer_pb2.ASPECT_VERTICAL),
    )  # fmt: skip
    await render(stub, req)
    img = frame_at(media_root / "output" / "scripts.mp4", 12)  # 0.48 s in: the caption is on screen
    h = img.shape[0]
    # The default font (DejaVu) has these glyphs: a font without them draws boxes Tesseract cannot read.
    title_seen = read(img[: h * 15 // 100], "rus")
    assert sum(plain(w) in title_seen for w in TITLE.split()) >= 2, title_seen
    caption_seen = read(img[h * 70 // 100 :], "ell")
    assert sum(plain(w) in caption_seen for w in CAPTION.split()) >= 2, caption_seen


JA_TITLE = "エネルギー保存の法則"  # Japanese: the law of conservation of energy
JA_CAPTION = "エネルギーは 常に 保存される"  # Japanese: energy is always conserved
AR_CAPTION = "الطاقة محفوظة دائما"  # Arabic: energy is always conserved


def caption_words(text: str) -> list[transcript_pb2.Word]:
    return [
        transcript_pb2.Word(start=1.0 + 0.2 * i, end=1.15 + 0.2 * i, text=w)
        for i, w in enumerate(text.split())
    ]


def share_read(expected: str, img: np.ndarray, lang: str) -> float:
    """The share of the expected letters Tesseract finds (CJK has no spaces to split words at)."""
    seen = set(pytesseract.image_to_string(img, lang=lang, config="--psm 7"))  # one line of text
    letters = [c for c in expected if not c.isspace()]
    return sum(c in seen for c in letters) / len(letters)


async def test_japanese_title_and_captions_use_a_cjk_font(
    stub: Stub, media_root: Path, plain_video: str
) -> None:
    req = renderer_pb2.RenderRequest(
        source_path=plain_video, start=1.0, end=3.0, output_path="output/ja.mp4", title=JA_TITLE,
        words=caption_words(JA_CAPTION),
        style=renderer_pb2.RenderStyle(intro=NO_INTRO, aspect=renderer_pb2.ASPECT_VERTICAL),
    )  # fmt: skip
    await render(stub, req)
    img = frame_at(media_root / "output" / "ja.mp4", 12)
    h = img.shape[0]
    # DejaVu has no kana or kanji: drawn with it, both read back as nothing but boxes (share 0).
    assert share_read(JA_TITLE, img[: h * 15 // 100], "jpn") >= 0.6
    assert share_read(JA_CAPTION, img[h * 70 // 100 :], "jpn") >= 0.6


async def test_arabic_captions_are_shaped_right_to_left(
    stub: Stub, media_root: Path, plain_video: str
) -> None:
    req = renderer_pb2.RenderRequest(
        source_path=plain_video, start=1.0, end=3.0, output_path="output/ar.mp4", words=caption_words(AR_CAPTION),
        style=renderer_pb2.RenderStyle(intro=NO_INTRO, aspect=renderer_pb2.ASPECT_VERTICAL),
    )  # fmt: skip
    await render(stub, req)
    img = frame_at(media_root / "output" / "ar.mp4", 12)
    # Whole words in order: unshaped (isolated letters) or left-to-right text is not read as these words.
    seen = pytesseract.image_to_string(img[img.shape[0] * 70 // 100 :], lang="ara").split()
    assert sum(w in seen for w in AR_CAPTION.split()) >= 2, seen
