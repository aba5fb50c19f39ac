"""Slide changes in a lecture video: sampled, downscaled frame differences; titles and text by OCR.

A few frames a second are decoded with PyAV (only the allowed containers, file protocol only) and
shrunk to a small grey grid. A frame starts a new slide when most grid cells differ from the current
slide's, once the change has held for `settle` seconds (a transition or an animation is not a slide).
Cells that keep changing — a speaker inset, a moving hand, a camera pan's edge — are left out of the
count by their running change rate; a build that adds a bullet changes a few rows only and stays the
same slide (its reference frame is updated so the next bullet compares against it). Memory is bounded
by the grid, not the video: one reference and one candidate frame are kept, and the last full frame.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from aiat.errors import Cancelled
from aiat.media import store_path
from aiat.safe_media import RefusedMedia, open_media
from aiat.store import MediaStore, atomic_file
from aiat_analyzer.pipeline import SlideInfo

log = logging.getLogger(__name__)

Grid = NDArray[np.float32]
Progress = Callable[[float, float], None]


@dataclass(frozen=True)
class SlideParams:
    """Detection thresholds (tuned on the generated slide lectures of benchmarks/slides.py)."""

    sample_fps: float = 1.0
    grid_w: int = 192
    grid_h: int = 108
    pixel_delta: float = 20.0  # grey levels for a pixel to count as changed, or as ink on the background
    change_share: float = 0.2  # share of the slide's ink that must change (a build only adds ink)
    min_ink: int = 40  # grid pixels of ink below which a slide counts as blank
    edge_delta: float = 12.0  # grey levels from the 3x3 mean for a pixel to count as ink
    settle: float = 1.0  # seconds a change must hold
    busy_rate: float = 0.2  # pixels changing in more than this share of samples are ignored
    min_slide: float = 3.0  # seconds: a shorter "slide" is a transition, merged into the next
    ocr: bool = True
    ocr_width: int = 1280


def _grid(frame: av.VideoFrame, p: SlideParams) -> Grid:
    grey = frame.to_ndarray(width=p.grid_w, height=p.grid_h, format="gray", interpolation="AREA")
    return grey.astype(np.float32)


def _ink(g: Grid, p: SlideParams) -> NDArray[np.bool_]:
    """Pixels of fine detail (text strokes, lines): far from the mean of their 3x3 neighbourhood.

    Local contrast rather than distance from the background, so a flat block (a speaker inset's
    backdrop, a coloured title bar) counts only along its edges.
    """
    pad = np.pad(g, 1, mode="edge")
    h, w = g.shape
    box = sum(pad[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0
    result: NDArray[np.bool_] = np.abs(g - box) > p.edge_delta
    return result


def _ink_changed(ref: Grid, g: Grid, mask: NDArray[np.bool_], p: SlideParams) -> float:
    """Share of the reference's ink (within `mask`) that `g` no longer shows: ~1 for a new slide, ~0 for a build."""
    ink = _ink(ref, p) & mask
    n_ink = int(ink.sum())
    if n_ink < p.min_ink:  # a blank slide: any new content is a new slide
        return 1.0 if int((_ink(g, p) & mask).sum()) >= p.min_ink else 0.0
    removed = int((np.abs(ref - g)[ink] > p.pixel_delta).sum())
    return removed / n_ink if removed >= p.min_ink else 0.0


def decoded_frames(container: av.container.InputContainer, stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    """The stream's frames less those no other frame refers to (most B-frames of H.264 and HEVC).

    About half of a 25 fps recording is then decoded, and decoding is most of the detector's time; a
    sampled instant lands at most a frame or two later. (Keyframes alone are too sparse: one per 2-10 s.)
    """
    stream.thread_type = "AUTO"
    stream.codec_context.skip_frame = "NONREF"
    yield from container.decode(stream)


def ocr_slide(image: Image.Image) -> tuple[str, str]:
    """(title, text) of a slide image: the title is the tallest line of text in the upper 40%."""
    import pytesseract

    data = pytesseract.image_to_data(image, output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[int]] = {}
    for i, word in enumerate(data["text"]):
        if word.strip() and float(data["conf"][i]) > 30:
            lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
    top_limit = image.height * 0.4
    best: tuple[float, str] | None = None
    tallest: tuple[float, str] | None = None  # a section-title slide centres its title
    rows: list[tuple[int, str]] = []
    for idx in lines.values():
        text = " ".join(data["text"][i].strip() for i in idx)
        top = min(data["top"][i] for i in idx)
        height = float(np.median([data["height"][i] for i in idx]))
        rows.append((top, text))
        if top < top_limit and (best is None or height > best[0] + 2):
            best = (height, text)
        if tallest is None or height > tallest[0] + 2:
            tallest = (height, text)
    body = "\n".join(t for _, t in sorted(rows))
    chosen = best or (tallest if len(rows) <= 2 else None)
    return (chosen[1] if chosen else ""), body


def detect_slides(
    path: Path,
    params: SlideParams | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    thumbnails: Callable[[int, Image.Image], str] | None = None,
) -> list[SlideInfo]:
    """The slides of a video in time order (empty for audio, or a video whose picture never settles on slides)."""
    p = params or SlideParams()
    with open_media(path) as container:
        stream = next(iter(container.streams.video), None)
        if stream is None:
            return []
        duration = float(container.duration / av.time_base) if container.duration else 0.0
        step = 1.0 / p.sample_fps
        next_t = 0.0
        ref: Grid | None = None  # the current slide's look
        cand: Grid | None = None  # a new look waiting to settle
        cand_t = 0.0
        prev: Grid | None = None
        rate: NDArray[np.float32] | None = None  # running share of samples in which each pixel changed
        ink_rate: NDArray[np.float32] | None = None  # running share of samples in which each pixel is ink
        n_samples = 0
        slides: list[SlideInfo] = []
        # The last confirmed slide waits for the next so a short one (a transition) can be dropped.
        pending: tuple[float, av.VideoFrame] | None = None

        def confirm(t: float, frame: av.VideoFrame) -> None:
            nonlocal pending
            if pending is not None and t - pending[0] >= p.min_slide:
                slides.append(_describe(len(slides), *pending, p, thumbnails))
            elif pending is not None and not slides:
                t = pending[0]  # the first slide always starts the video
            pending = (t, frame)

        for frame in decoded_frames(container, stream):
            if frame.time is None or frame.time + 1e-6 < next_t:
                continue
            t = float(frame.time)
            next_t = (int(t / step + 1e-6) + 1) * step  # a fixed grid: skipped frames do not make it drift
            if cancel is not None and cancel.is_set():
                raise Cancelled("analysis cancelled")
            if progress is not None and duration:
                progress(min(t, duration), duration)
            g = _grid(frame, p)
            if prev is not None:
                moved = (np.abs(prev - g) > p.pixel_delta).astype(np.float32)
                rate = moved if rate is None else 0.95 * rate + 0.05 * moved
            prev = g
            if ref is None:
                ref = g
                confirm(0.0, frame)
                continue
            ink_rate = (
                _ink(g, p).astype(np.float32) if ink_rate is None else 0.98 * ink_rate + 0.02 * _ink(g, p)
            )
            # Leave out what keeps moving (a speaker inset) and what never changes (a template, an inset's frame).
            steady = rate < p.busy_rate if rate is not None else np.ones(g.shape, bool)
            if n_samples > 30:
                steady &= ink_rate < 0.95
            n_samples += 1
            if _ink_changed(ref, g, steady, p) < p.change_share:
                ref = g  # a build or noise: the same slide, compared from now on with its new look
                cand = None
                continue
            if cand is None or _ink_changed(cand, g, steady, p) >= p.change_share:
                cand, cand_t = g, t  # still changing: wait for it to settle
                continue
            if t - cand_t >= p.settle:
                ref = g
                confirm(cand_t, frame)
                cand = None
        if pending is not None:
            slides.append(_describe(len(slides), *pending, p, thumbnails))
        return slides


def _describe(
    index: int,
    t: float,
    frame: av.VideoFrame,
    p: SlideParams,
    thumbnails: Callable[[int, Image.Image], str] | None,
) -> SlideInfo:
    """OCR and thumbnail of one slide's settled frame."""
    title = text = thumb = ""
    image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
    if p.ocr:
        scale = p.ocr_width / image.width
        big = image.resize((p.ocr_width, round(image.height * scale))) if scale < 1 else image
        try:
            title, text = ocr_slide(big)
        except Exception as exc:  # OCR is a bonus: a missing tesseract must not fail the analysis
            log.warning("slide OCR failed: %s", exc)
    if thumbnails is not None:
        thumb = thumbnails(index, image)
    return SlideInfo(start=round(t, 3), title=title, text=text[:2000], thumbnail=thumb)


class SlideStep:
    """Slide detection for a request: the video from the media store, thumbnails written back to it."""

    def __init__(
        self, store: MediaStore, params: SlideParams | None = None, max_rate: float = 1 / 15
    ) -> None:
        self.store = store
        self.params = params or SlideParams()
        self.max_rate = max_rate  # more changes a second than this: not a slide video (a camera, a demo)

    def run(
        self, media_path: str, slides_dir: str, progress: Progress, cancel: threading.Event
    ) -> list[SlideInfo]:
        """The video's slides, or none when it has no picture, no slides, or cannot be decoded."""
        path = store_path(self.store, media_path, "media_path")
        if not path.is_file():  # e.g. an analyzer that does not share the store: analyse without slides
            log.warning("no slides: media_path %r is not in this analyzer's store", media_path)
            return []
        out_dir = store_path(self.store, slides_dir, "slides_dir") if slides_dir else None

        def thumbnail(index: int, image: Image.Image) -> str:
            assert out_dir is not None
            out_dir.mkdir(parents=True, exist_ok=True)
            small = image.copy()
            small.thumbnail((320, 180))
            final = out_dir / f"slide-{index + 1:03d}.jpg"
            with atomic_file(final) as tmp:
                small.save(tmp, format="JPEG", quality=80)
            return self.store.relative(final)

        try:
            slides = detect_slides(path, self.params, progress, cancel, thumbnail if out_dir else None)
        except Cancelled:
            raise
        except (av.FFmpegError, OSError, ValueError, RefusedMedia) as exc:
            log.warning("no slides: the video could not be read (%s)", exc.__class__.__name__)
            return []
        if len(slides) < 2:
            return []
        span = max(slides[-1].start, 1.0)
        if len(slides) / span > self.max_rate:
            log.info("no slides: %d picture changes in %.0f s is not a slide lecture", len(slides), span)
            return []
        return slides
