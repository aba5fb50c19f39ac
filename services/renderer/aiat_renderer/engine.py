"""The render engine interface and the FFmpeg engine: plan a render, run ffmpeg, publish atomically."""

from __future__ import annotations

import logging
import math
import re
import subprocess
import tempfile
import textwrap
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av

from aiat.errors import Cancelled, EngineError, EngineUnavailable, InvalidInput, MediaNotFound
from aiat.media import MediaInfo, ffmpeg_exe, probe, store_media, store_path
from aiat.store import MediaStore
from aiat_renderer import captions
from aiat_renderer.encoders import Encoder, detect_encoder
from aiat_renderer.filters import (
    GraphSpec,
    Rect,
    TextLine,
    ass_color,
    build_graph,
    compute_geometry,
    parse_color,
)
from aiat_renderer.fonts import font_family, resolve_font
from aiat_renderer.settings import RendererSettings

log = logging.getLogger(__name__)

ASPECTS = ("landscape", "vertical", "square")
MAX_TITLE_CHARS = 300
MAX_INTRO_SECONDS = 30.0


@dataclass(frozen=True)
class RenderJob:
    """One render request in plain Python; `None` means "the renderer's default"."""

    source_path: str
    start: float
    end: float
    output_path: str
    title: str = ""
    module: str = ""
    session_name: str = ""
    aspect: str | None = None
    x_center: float | None = None
    roi: Rect | None = None
    font: str = ""
    text_color: str = ""
    accent_color: str = ""
    title_position: str = ""
    logo_path: str = ""
    intro_enabled: bool | None = None
    intro_seconds: float = 0.0
    intro_video: str = ""
    captions_enabled: bool | None = None
    highlight_words: bool | None = None
    write_srt: bool | None = None
    normalize_audio: bool | None = None
    words: Sequence[tuple[float, float, str]] = ()


@dataclass(frozen=True)
class RenderProgress:
    """Seconds of output encoded so far."""

    done: float
    total: float
    stage: str


@dataclass(frozen=True)
class RenderOutcome:
    """The finished snippet."""

    output_path: str
    duration: float
    size_bytes: int
    encoder: str
    srt_path: str
    width: int
    height: int


Emit = Callable[[RenderProgress], None]


class RenderEngine(Protocol):
    """What the servicer needs from an engine."""

    @property
    def encoder_name(self) -> str: ...

    def load(self) -> None: ...

    def render(self, job: RenderJob, emit: Emit, cancel: threading.Event) -> RenderOutcome: ...

    def close(self) -> None: ...


@dataclass
class RenderPlan:
    """A fully resolved render: the ffmpeg arguments (without the output file) and what it will produce."""

    args: list[str]
    total: float
    start: float
    duration: float
    intro_seconds: float
    width: int
    height: int
    srt: str | None = None
    graph: str = ""
    notes: list[str] = field(default_factory=list)


def frame_rate(info: MediaInfo) -> Fraction:
    """The source frame rate as an exact fraction (29.97 -> 30000/1001); 25 when unknown."""
    if info.fps <= 0 or not math.isfinite(info.fps):
        return Fraction(25)
    return Fraction(info.fps).limit_denominator(1001)


def snap_range(start: float, end: float, rate: Fraction, media_duration: float) -> tuple[float, float]:
    """(start, duration) on the source frame grid; InvalidInput for empty ranges or ones outside the media."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InvalidInput("start and end must be finite numbers")
    if start < 0:
        raise InvalidInput(f"start {start:.3f}s is before the beginning of the media")
    if start >= end:
        raise InvalidInput(f"start ({start:.3f}s) must be before end ({end:.3f}s)")
    frame = 1 / float(rate)
    if end > media_duration + frame:
        raise InvalidInput(f"end {end:.3f}s is past the end of the media ({media_duration:.3f}s)")
    first = round(start * rate)
    last = min(round(end * rate), math.floor(media_duration * rate + 1e-6))
    if last <= first:
        raise InvalidInput("the range is shorter than one frame")
    return float(first / rate), float((last - first) / rate)


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """Wrap text into at most `max_lines` lines of about `width` characters, ending with … if cut."""
    lines = textwrap.wrap(text, width=max(4, width), break_long_words=True, break_on_hyphens=False)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(1, width - 1)].rstrip() + "…"
    return lines


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """One line of user text: control characters removed, whitespace collapsed, length capped."""
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


class FfmpegEngine:
    """Renders with the ffmpeg binary; the encoder is chosen at load() by a real test encode."""

    def __init__(self, settings: RendererSettings, store: MediaStore) -> None:
        self.settings = settings
        self.store = store
        self.ffmpeg = ""
        self.encoder: Encoder | None = None
        self.colors: dict[str, str] = {}

    @property
    def encoder_name(self) -> str:
        """The chosen encoder, or empty before load()."""
        return self.encoder.name if self.encoder else ""

    def load(self) -> None:
        """Find ffmpeg, read its colour names and pick the encoder."""
        self.ffmpeg = ffmpeg_exe()
        self.colors = ffmpeg_colors(self.ffmpeg)
        default_font = Path(self.settings.font)
        if not default_font.is_file():
            raise RuntimeError(f"default font {default_font} is missing")
        self.encoder = detect_encoder(self.ffmpeg, self.settings)

    def close(self) -> None:
        """Nothing to release: each render owns its ffmpeg process."""

    def render(self, job: RenderJob, emit: Emit, cancel: threading.Event) -> RenderOutcome:
        """Render one snippet to a temporary file, then rename it to the public name."""
        if self.encoder is None:
            raise EngineUnavailable("the renderer is still starting")
        emit(RenderProgress(0.0, 0.0, "planning"))
        output = store_path(self.store, job.output_path, "output_path")
        if output.suffix.lower() != ".mp4":
            raise InvalidInput("output_path must end in .mp4")
        if output == store_path(self.store, job.source_path, "source_path"):
            raise InvalidInput("output_path must differ from source_path")
        with tempfile.TemporaryDirectory(prefix="aiat-render-") as tmp:
            work = Path(tmp)
            plan = self.plan(job, work)
            with self.store.atomic_path(job.output_path) as part:
                run_ffmpeg([*plan.args, str(part)], plan.total, emit, cancel, work / "ffmpeg.log")
                info = probe(part)
            srt_rel = ""
            if plan.srt is not None:
                srt_rel = str(Path(job.output_path).with_suffix(".srt").as_posix())
                self.store.write_bytes_atomic(srt_rel, plan.srt.encode())
        emit(RenderProgress(plan.total, plan.total, "done"))
        return RenderOutcome(
            output_path=job.output_path,
            duration=info.duration,
            size_bytes=output.stat().st_size,
            encoder=self.encoder.name,
            srt_path=srt_rel,
            width=info.width,
            height=info.height,
        )

    def plan(self, job: RenderJob, work: Path) -> RenderPlan:
        """Validate the job against its media and build the ffmpeg command; writes text files into `work`."""
        if self.encoder is None:
            raise EngineUnavailable("the renderer is still starting")
        s = self.settings
        src, info = store_media(self.store, job.source_path, "source_path")
        if not info.has_video or info.width <= 0 or info.height <= 0:
            raise InvalidInput(f"source {job.source_path!r} has no video stream")
        rate = frame_rate(info)
        start, duration = snap_range(job.start, job.end, rate, info.duration)

        aspect = job.aspect or s.default_aspect
        if aspect not in ASPECTS:
            raise InvalidInput(f"unknown aspect {aspect!r}")
        geom = compute_geometry(
            aspect, info.width, info.height, x_center=job.x_center, roi=job.roi,
            landscape_max_height=s.landscape_max_height, square_size=s.square_size,
        )  # fmt: skip
        w, h = geom.width, geom.height
        base = min(w, h)
        margin = round(base * 0.05)

        fontfile = resolve_font(job.font, s.font_dirs, Path(s.font).resolve())
        text_color = parse_color(job.text_color or s.text_color, self.colors)
        accent = parse_color(job.accent_color or s.accent_color, self.colors)
        highlight = parse_color(s.highlight_color, self.colors)
        position = (job.title_position or s.title_position).strip().lower()
        if position not in ("top", "bottom"):
            raise InvalidInput("title_position must be 'top' or 'bottom'")

        args = [self.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        args += [*self.encoder.decode_args, "-ss", f"{start:.6f}", "-t", f"{duration:.6f}", "-i", str(src)]
        next_input = 1
        audio_input = 0
        if not info.has_audio:
            args += ["-f", "lavfi", "-t", f"{duration:.6f}", "-i", "anullsrc=r=48000:cl=stereo"]
            audio_input, next_input = next_input, next_input + 1

        spec = GraphSpec(
            geometry=geom, rate=rate, duration=duration, source_has_audio=info.has_audio,
            audio_input=audio_input, fontfile=fontfile, box_border=max(4, round(base * 0.02)),
        )  # fmt: skip

        title_top = margin
        logo_rel = job.logo_path or s.logo_path
        if logo_rel:
            logo_path = store_path(self.store, logo_rel, "logo_path")
            if not logo_path.is_file():
                raise MediaNotFound(f"logo_path {logo_rel!r} does not exist in the media store")
            logo_w, logo_h = image_size(logo_path)
            lw = max(2, round(w * 0.14) // 2 * 2)
            lh = max(2, round(lw * logo_h / logo_w) // 2 * 2)
            spec.logo_input, spec.logo = next_input, (lw, lh, str(w - lw - margin), str(margin))
            args += ["-i", str(logo_path)]
            next_input += 1
            title_top = margin + lh + margin // 2

        title = clean_text(job.title)
        title_size = max(12, round(base * 0.06))
        line_h = round(title_size * 1.6)
        title_lines = wrap(title, int(w * 0.84 / (title_size * 0.6)), 3) if title else []
        if position == "top":
            ys = [title_top + spec.box_border + i * line_h for i in range(len(title_lines))]
        else:
            bottom = h - margin - spec.box_border
            ys = [bottom - (len(title_lines) - i) * line_h for i in range(len(title_lines))]
        spec.title_lines = [
            TextLine(write_text(work, f"title{i}", line), str(y), title_size, text_color, accent)
            for i, (line, y) in enumerate(zip(title_lines, ys, strict=True))
        ]

        normalize = s.normalize_audio if job.normalize_audio is None else job.normalize_audio
        spec.normalize = s.loudnorm if normalize else None

        intro_on = s.intro_enabled if job.intro_enabled is None else job.intro_enabled
        intro_video = job.intro_video or s.intro_video
        if intro_on and intro_video:
            ipath, iinfo = store_media(self.store, intro_video, "intro video_path")
            if not iinfo.has_video:
                raise InvalidInput(f"intro video {intro_video!r} has no video stream")
            if iinfo.duration > MAX_INTRO_SECONDS:
                raise InvalidInput(f"intro video {intro_video!r} is longer than {MAX_INTRO_SECONDS:g} s")
            frames = max(1, round(iinfo.duration * rate))
            spec.intro_seconds = float(frames / rate)
            spec.intro_input, spec.intro_has_audio = next_input, iinfo.has_audio
            args += ["-i", str(ipath)]
            next_input += 1
        elif intro_on:
            seconds = job.intro_seconds if job.intro_seconds > 0 else s.intro_seconds
            if not math.isfinite(seconds) or seconds > MAX_INTRO_SECONDS:
                raise InvalidInput(f"intro seconds must be at most {MAX_INTRO_SECONDS:g}")
            spec.intro_seconds = float(max(1, round(seconds * rate)) / rate)
            spec.intro_color = accent
            spec.intro_lines = self._intro_lines(job, work, w, h, text_color)

        captions_on = s.captions_enabled if job.captions_enabled is None else job.captions_enabled
        write_srt = s.captions_write_srt if job.write_srt is None else job.write_srt
        srt = None
        words = captions.shift_words(job.words, start, start + duration)
        if words and (captions_on or write_srt):
            cap_size = max(12, round(base * 0.055))
            cues = captions.build_cues(words, max_chars=min(42, int(w * 0.9 / (cap_size * 0.6))))
            if captions_on:
                family, bold = font_family(fontfile)
                top = position == "bottom"
                style = captions.AssStyle(
                    width=w, height=h, font_name=family, font_size=cap_size, bold=bold,
                    primary=ass_color(text_color), highlight=ass_color(highlight),
                    margin_v=round(h * (0.12 if aspect == "vertical" else 0.06)) if not top
                    else margin + len(title_lines) * line_h + margin,
                    top=top,
                )  # fmt: skip
                highlight_on = s.captions_highlight if job.highlight_words is None else job.highlight_words
                spec.ass_file = work / "captions.ass"
                spec.ass_file.write_text(captions.ass_document(cues, style, highlight_on), encoding="utf-8")
                spec.fonts_dir = fontfile.parent
            if write_srt:
                srt = captions.srt_text(cues, offset=spec.intro_seconds)

        graph = build_graph(spec)
        args += ["-filter_complex", graph, "-map", "[vout]", "-map", "[aout]"]
        args += [*self.encoder.args, "-pix_fmt", "yuv420p"]
        args += ["-c:a", "aac", "-b:a", s.audio_bitrate, "-ar", "48000", "-ac", "2"]
        args += ["-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart"]
        args += ["-f", "mp4", "-progress", "pipe:1", "-nostats"]
        return RenderPlan(
            args=args, total=spec.intro_seconds + duration, start=start, duration=duration,
            intro_seconds=spec.intro_seconds, width=w, height=h, srt=srt, graph=graph,
        )  # fmt: skip

    def _intro_lines(self, job: RenderJob, work: Path, w: int, h: int, color: str) -> list[TextLine]:
        base = min(w, h)
        blocks: list[tuple[str, int, int]] = []  # text, size, max lines
        title_size, small = max(14, round(base * 0.08)), max(12, round(base * 0.045))
        parts = ((job.title, title_size, 3), (job.module, small, 1), (job.session_name, small, 2))
        for text, size, lines in parts:
            text = clean_text(text)
            if text:
                for line in wrap(text, int(w * 0.86 / (size * 0.6)), lines):
                    blocks.append((line, size, round(size * 1.35)))
        total = sum(step for _, _, step in blocks)
        y = (h - total) // 2
        out = []
        for i, (line, size, step) in enumerate(blocks):
            out.append(TextLine(write_text(work, f"intro{i}", line), str(y), size, color))
            y += step
        return out


def image_size(path: Path) -> tuple[int, int]:
    """Width and height of an image (or a video's first stream); InvalidInput when unreadable."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    except (av.FFmpegError, OSError, IndexError, ValueError) as exc:
        raise InvalidInput(f"{path.name} is not a readable image") from exc
    if width <= 0 or height <= 0:
        raise InvalidInput(f"{path.name} is not a readable image")
    return width, height


def write_text(work: Path, name: str, text: str) -> Path:
    """Write one line for drawtext's textfile= (UTF-8, no trailing newline, which drawtext would draw)."""
    path = work / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    return path


def ffmpeg_colors(ffmpeg: str) -> dict[str, str]:
    """FFmpeg's colour names (lower case) to RRGGBB, from `ffmpeg -colors`."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-colors"], capture_output=True, text=True, check=False)
    colors = {}
    for line in done.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("#"):
            colors[parts[0].lower()] = parts[1][1:].lower()
    return colors


def run_ffmpeg(args: list[str], total: float, emit: Emit, cancel: threading.Event, log_path: Path) -> None:
    """Run ffmpeg, emitting progress from `-progress pipe:1`; kill it as soon as `cancel` is set."""
    with open(log_path, "wb") as err:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True)

        def watch() -> None:
            while proc.poll() is None:
                if cancel.wait(0.1):
                    proc.kill()
                    return

        watcher = threading.Thread(target=watch, name="ffmpeg-cancel", daemon=True)
        watcher.start()
        try:
            assert proc.stdout is not None
            done = 0.0
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit():
                    done = min(total, max(0.0, int(value) / 1e6))
                elif key == "progress":
                    emit(RenderProgress(done, total, "encoding"))
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            watcher.join()
    if cancel.is_set():
        raise Cancelled("render cancelled; ffmpeg stopped")
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise EngineError(f"ffmpeg failed (exit {proc.returncode}): {' | '.join(tail)}")
