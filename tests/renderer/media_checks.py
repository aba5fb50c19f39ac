"""Checks on rendered files without ffprobe: PyAV decoding and MP4 box order."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


@dataclass
class Rendered:
    """Stream facts of an output file."""

    video_codec: str
    audio_codec: str
    pix_fmt: str
    width: int
    height: int
    frames: int
    fps: float
    video_seconds: float
    audio_seconds: float


def inspect(path: Path) -> Rendered:
    """Decode every video frame and audio packet's span to get exact durations."""
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        facts = (v.codec_context.name, a.codec_context.name, str(v.codec_context.pix_fmt))
        width, height, fps = v.codec_context.width, v.codec_context.height, float(v.average_rate or 0)
        frames = sum(1 for _ in c.decode(video=0))
    with av.open(str(path)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
        rate = c.streams.audio[0].codec_context.sample_rate
    return Rendered(
        video_codec=facts[0],
        audio_codec=facts[1],
        pix_fmt=facts[2],
        width=width,
        height=height,
        frames=frames,
        fps=fps,
        video_seconds=frames / fps,
        audio_seconds=samples / rate,
    )


def top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level MP4 boxes, in file order."""
    boxes = []
    with open(path, "rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
                f.seek(size - 16, 1)
            elif size == 0:
                boxes.append(kind.decode("latin-1"))
                break
            else:
                f.seek(size - 8, 1)
            boxes.append(kind.decode("latin-1"))
    return boxes


def gray_frames(path: Path, indices: set[int]) -> dict[int, np.ndarray]:
    """Selected video frames (by decode order index) as float grayscale arrays."""
    out = {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in indices:
                out[i] = frame.to_ndarray(format="gray").astype(np.float32)
            if i >= max(indices):
                break
    return out


def center_band(img: np.ndarray) -> np.ndarray:
    """The middle third of the rows, where the frame counter is (away from title and captions)."""
    h = img.shape[0]
    return img[h // 3 : 2 * h // 3]


def audio_onset(path: Path, threshold: float = 0.2) -> float:
    """Seconds to the first audio sample louder than `threshold` of the peak."""
    chunks = []
    with av.open(str(path)) as c:
        rate = c.streams.audio[0].codec_context.sample_rate
        for frame in c.decode(audio=0):
            chunks.append(np.abs(frame.to_ndarray()).max(axis=0))
    signal = np.concatenate(chunks)
    return float(np.argmax(signal > threshold * signal.max()) / rate)
