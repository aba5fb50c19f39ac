"""Region detection on the CPU from the video alone: static text-like areas (slides), the moving speaker, faces."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from aiat.errors import Cancelled, InvalidInput
from aiat.safe_media import open_media
from aiat_renderer.layout import Rect

Gray = npt.NDArray[np.uint8]

ANALYSIS_WIDTH = 640
PAIR_SECONDS = 0.2
DIFF_LEVEL = 15
FACE_CASCADE = "haarcascade_frontalface_default.xml"

_face_lock = threading.Lock()
_face_detector: cv2.CascadeClassifier | None = None


class AnalysisTimeout(RuntimeError):
    """The analysis ran past its time budget."""


@dataclass(frozen=True)
class Sample:
    """A frame at `t` (snippet seconds) and one `PAIR_SECONDS` later, grey, `ANALYSIS_WIDTH` wide."""

    t: float
    frame: Gray
    later: Gray


@dataclass(frozen=True)
class Analysis:
    """What the video shows, in source pixels: slide text, the speaker, and where the speaker is over time."""

    slide: Rect | None
    speaker: Rect | None
    text_lines: int
    centres: tuple[tuple[float, float], ...]
    seconds: float

    @property
    def has_slides(self) -> bool:
        """Several static text lines: a slide (or a screen) is the content."""
        return self.slide is not None and self.text_lines >= 3


def analyze(
    path: Path,
    start: float,
    duration: float,
    *,
    samples: int,
    cancel: threading.Event | None = None,
    timeout: float = math.inf,
) -> Analysis:
    """Detect the slide and speaker regions of [start, start + duration] from `samples` frame pairs.

    Raises AnalysisTimeout once `timeout` seconds have passed (checked between frames).
    """
    t0 = time.perf_counter()
    check = _checker(cancel, t0 + timeout)
    with open_media(path) as container:
        stream = container.streams.video[0]
        src_w, src_h = int(stream.codec_context.width), int(stream.codec_context.height)
        frames = _sample(container, start, duration, samples, check)
    if not frames:
        raise InvalidInput("no video frames in the requested range")
    scale = src_w / frames[0].frame.shape[1]
    activity = _activity(frames)
    slide, lines = _text_region(frames, activity)
    motion, motion_centres = _motion_region(frames, activity)
    faces = []
    for sample in frames:
        check()
        faces.append(_faces(sample.frame))
    face_box, face_centres = _face_region(frames, faces)
    speaker = face_box or motion
    centres = face_centres if face_box is not None else motion_centres
    return Analysis(
        slide=_to_source(slide, scale, src_w, src_h, pad=0.04),
        speaker=_to_source(speaker, scale, src_w, src_h, pad=0.0),
        text_lines=lines,
        centres=tuple((t, x * scale) for t, x in centres),
        seconds=time.perf_counter() - t0,
    )


def _checker(cancel: threading.Event | None, deadline: float) -> Callable[[], None]:
    """A check to call between frames: Cancelled once `cancel` is set, AnalysisTimeout past `deadline`."""

    def check() -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("render cancelled during layout analysis")
        if time.perf_counter() > deadline:
            raise AnalysisTimeout("layout analysis ran past its time budget")

    return check


def _gray(frame: av.VideoFrame) -> Gray:
    width = min(ANALYSIS_WIDTH, frame.width)
    height = max(2, round(frame.height * width / frame.width))
    return np.ascontiguousarray(frame.reformat(width=width, height=height, format="gray").to_ndarray())


def _sample(
    container: av.container.InputContainer,
    start: float,
    duration: float,
    count: int,
    check: Callable[[], None],
) -> list[Sample]:
    """Frame pairs at `count` times spread over the range: decoded in order, seeking only over long gaps."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    tb = stream.time_base
    offset = float(stream.start_time * tb) if stream.start_time is not None and tb is not None else 0.0
    pair = min(PAIR_SECONDS, duration / 4)
    count = max(2, min(count, int(duration / max(pair * 1.5, 1e-3))))
    span = max(0.0, duration - pair)
    targets = [start + (i + 0.5) * span / count for i in range(count)]
    out: list[Sample] = []
    gop, last_key, now = 2.0, None, -math.inf
    i, seek = 0, True
    while i < len(targets):
        if seek and tb is not None:
            container.seek(max(0, int((targets[i] + offset) / tb)), stream=stream)
            last_key = None  # the next key frame is not one GOP after the last one seen
        seek = False
        first: tuple[float, Gray] | None = None
        for frame in container.decode(stream):
            check()
            if frame.time is None:
                continue
            now = frame.time - offset
            if frame.key_frame:
                if last_key is not None and now > last_key:
                    gop = max(gop, now - last_key)
                last_key = now
            if first is None:
                if now >= targets[i] - 0.02:
                    first = (now, _gray(frame))
            elif now >= first[0] + pair - 0.02:
                out.append(Sample(first[0] - start, first[1], _gray(frame)))
                first, i = None, i + 1
                if i == len(targets):
                    break
                if targets[i] - now > max(4.0, 1.5 * gop):
                    seek = True
                    break
        else:
            break  # end of stream
    return out


def _small(img: Gray) -> Gray:
    return np.asarray(
        cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA), np.uint8
    )


def _changed(a: Gray, b: Gray) -> npt.NDArray[np.bool_]:
    diff = cv2.GaussianBlur(cv2.absdiff(_small(a), _small(b)), (5, 5), 0)
    return np.asarray(diff > DIFF_LEVEL)


def _activity(frames: list[Sample]) -> npt.NDArray[np.float32]:
    """Per pixel (half the analysis size), the share of frame pairs in which it changed; cuts are left out."""
    masks = [_changed(s.frame, s.later) for s in frames]
    kept = [m for m in masks if m.mean() < 0.3] or masks
    return np.asarray(np.mean(np.stack(kept), axis=0), np.float32)


def _text_boxes(img: Gray) -> list[tuple[int, int, int, int]]:
    """Text-line-like boxes: strong edges joined along rows into short, wide blobs crossed by many strokes."""
    grad = cv2.morphologyEx(img, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edges = (grad > 50).astype(np.uint8)
    joined = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (11, 1)))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    height, width = img.shape
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (5 <= h <= 0.12 * height and w >= 1.5 * h and w <= 0.95 * width):
            continue
        fill = float(edges[y : y + h, x : x + w].mean())
        if 0.12 <= fill <= 0.85 and _strokes(img[y : y + h, x : x + w]) >= 1.5 * w / h:
            boxes.append((x, y, w, h))
    return boxes


def _strokes(box: Gray) -> float:
    """Ink/paper changes along the middle rows of a box (a line of text crosses a stroke every few pixels)."""
    h = box.shape[0]
    rows = box[h // 4 : max(h // 4 + 1, 3 * h // 4)]
    _, ink = cv2.threshold(rows, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(np.abs(np.diff(ink.astype(np.int8), axis=1)).sum(axis=1).mean())


def _text_region(frames: list[Sample], activity: npt.NDArray[np.float32]) -> tuple[Rect | None, int]:
    """The largest cluster of text lines that stay still (slide text), and how many lines it holds."""
    act = cv2.resize(activity, (frames[0].frame.shape[1], frames[0].frame.shape[0]))
    votes = np.zeros(frames[0].frame.shape, np.int32)
    for sample in frames:
        for x, y, w, h in _text_boxes(sample.frame):
            if act[y : y + h, x : x + w].mean() < 0.1:
                votes[y : y + h, x : x + w] += 1
    text = (votes >= (2 if len(frames) >= 4 else 1)).astype(np.uint8)
    # Lines of one slide are a line height or two apart: a tall kernel joins them into one cluster.
    clusters = cv2.dilate(text, cv2.getStructuringElement(cv2.MORPH_RECT, (31, 41)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(clusters)
    if n <= 1:
        return None, 0
    areas = [int(text[labels == i].sum()) for i in range(1, n)]
    best = 1 + int(np.argmax(areas))
    x, y, w, h = (int(v) for v in stats[best][:4])
    lines, _ = cv2.connectedComponents(cv2.dilate(text * (labels == best), np.ones((1, 15), np.uint8)))
    x0, y0 = x + 15, y + 20  # undo the dilation
    return Rect(x0, y0, max(2, w - 30), max(2, h - 40)), lines - 1


def _motion_region(
    frames: list[Sample], activity: npt.NDArray[np.float32]
) -> tuple[Rect | None, list[tuple[float, float]]]:
    """The compact region that keeps moving (the speaker), in analysis pixels, and its centre per sample."""
    mask = cv2.dilate((activity >= 0.25).astype(np.uint8), np.ones((5, 5), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    h, w = mask.shape
    parts = [stats[i] for i in range(1, n) if stats[i][cv2.CC_STAT_AREA] >= 0.001 * w * h]
    if not parts:
        return None, []
    parts.sort(key=lambda s: -int(s[cv2.CC_STAT_AREA]))
    x, y, bw, bh = (int(v) for v in parts[0][:4])
    near = 0.05 * w
    for s in parts[1:]:
        sx, sy, sw, sh = (int(v) for v in s[:4])
        if sx < x + bw + near and x < sx + sw + near and sy < y + bh + near and y < sy + sh + near:
            x, y = min(x, sx), min(y, sy)
            bw, bh = max(x + bw, sx + sw) - x, max(y + bh, sy + sh) - y
    if bw * bh > 0.55 * w * h:
        return None, []  # the whole picture moves: a camera pan or moving graphics, not one speaker
    pad_w, pad_h = round(bw * 0.15), round(bh * 0.15)
    box = Rect(2 * (x - pad_w), 2 * (y - pad_h), 2 * (bw + 2 * pad_w), 2 * (bh + 2 * pad_h))
    centres = []
    for sample in frames:
        changed = _changed(sample.frame, sample.later)[y : y + bh, x : x + bw]
        cols = np.nonzero(changed)[1]
        if len(cols) >= 20:
            centres.append((sample.t, 2 * (x + float(np.median(cols)))))
    return box, centres


def _detector() -> cv2.CascadeClassifier:
    global _face_detector
    with _face_lock:
        if _face_detector is None:
            detector = cv2.CascadeClassifier(str(Path(cv2.__file__).parent / "data" / FACE_CASCADE))
            if detector.empty():
                raise RuntimeError(f"OpenCV's {FACE_CASCADE} is missing")
            _face_detector = detector
        return _face_detector


def _faces(img: Gray) -> list[tuple[int, int, int, int]]:
    """Frontal faces (OpenCV's bundled Haar cascade) at least 1/20 of the frame height."""
    side = max(24, img.shape[0] // 20)
    found = _detector().detectMultiScale(img, scaleFactor=1.15, minNeighbors=6, minSize=(side, side))
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def _face_region(
    frames: list[Sample], faces: list[list[tuple[int, int, int, int]]]
) -> tuple[Rect | None, list[tuple[float, float]]]:
    """Head and shoulders around the face seen in at least a third of the samples, and its centre per sample."""
    if sum(1 for f in faces if f) < max(1, len(frames) / 3):
        return None, []
    biggest = [max(f, key=lambda b: b[2] * b[3]) for f in faces if f]
    mid_x = float(np.median([x + w / 2 for x, _, w, _ in biggest]))
    width = frames[0].frame.shape[1]
    near = [b for b in biggest if abs(b[0] + b[2] / 2 - mid_x) < 0.25 * width]
    x0 = min(x - 0.8 * w for x, _, w, _ in near)
    y0 = min(y - 0.5 * h for _, y, _, h in near)
    x1 = max(x + 1.8 * w for x, _, w, _ in near)
    y1 = max(y + 2.3 * h for _, y, _, h in near)
    centres = [
        (s.t, float(max(f, key=lambda b: b[2] * b[3])[0] + max(f, key=lambda b: b[2] * b[3])[2] / 2))
        for s, f in zip(frames, faces, strict=True)
        if f
    ]
    return Rect(round(x0), round(y0), round(x1 - x0), round(y1 - y0)), centres


def _to_source(rect: Rect | None, scale: float, src_w: int, src_h: int, *, pad: float) -> Rect | None:
    """An analysis-pixel rectangle in source pixels, padded by `pad` of the frame size and clipped to it."""
    if rect is None:
        return None
    px, py = pad * src_w, pad * src_h
    x0 = max(0, round(rect.x * scale - px))
    y0 = max(0, round(rect.y * scale - py))
    x1 = min(src_w, round((rect.x + rect.w) * scale + px))
    y1 = min(src_h, round((rect.y + rect.h) * scale + py))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return Rect(x0, y0, x1 - x0, y1 - y0)
