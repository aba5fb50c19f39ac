"""The render engine interface and the FFmpeg engine: validate a render, build its ffmpeg command, publish atomically."""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiat.aspect import Aspect
from aiat.errors import Cancelled, DiskFull, EngineUnavailable, InvalidInput, MediaNotFound, StartupError
from aiat.framing import Layout
from aiat.media import MediaInfo, ffmpeg_exe, probe, store_media, store_path
from aiat.safe_media import ffmpeg_input_args
from aiat.store import MediaStore
from aiat_renderer import captions
from aiat_renderer.encoders import Encoder, detect_encoder
from aiat_renderer.ffmpeg import (
    DISK_FULL_ERRNOS,
    DISK_FULL_MESSAGE,
    ffmpeg_colors,
    probe_image,
    run_ffmpeg,
    write_text,
)
from aiat_renderer.filters import GraphSpec, TextLine, ass_color, build_graph, parse_color
from aiat_renderer.fonts import font_family, font_for_text, resolve_font
from aiat_renderer.layout import (
    Composition,
    Geometry,
    PlacedText,
    Rect,
    clear_bands,
    clip_rect,
    compose_fit,
    compose_stack,
    compute_geometry,
    crop_path,
    frame_layout,
    frame_rate,
    intro_card,
    logo_height,
    output_size,
    snap_range,
    union,
    whole_frames,
)
from aiat_renderer.regions import Analysis, analyze
from aiat_renderer.settings import RendererSettings
from aiat_renderer.spec import ProgressFn, RenderOutcome, RenderProgress, RenderSpec

log = logging.getLogger(__name__)

MAX_INTRO_SECONDS = 30.0
OUTPUT_ROOT = "output"  # the only part of the store a render may write (MediaStore.output_dir)


def output_file(store: MediaStore, rel: str, what: str) -> Path:
    """Absolute path of a file a render may write: InvalidInput unless under output/ once `..` and symlinks resolve."""
    path = store_path(store, rel, what)
    if store.resolve(OUTPUT_ROOT) not in path.parents:
        raise InvalidInput(f"{what} must be under {OUTPUT_ROOT}/ of the media store: {rel!r}")
    return path


class RenderEngine(Protocol):
    """What the servicer needs from an engine; render() is called from worker threads."""

    @property
    def encoder_name(self) -> str:
        """The H.264 encoder in use; empty before load()."""
        ...

    def load(self) -> None:
        """Find ffmpeg and pick the encoder; raise StartupError when rendering cannot work."""
        ...

    def render(self, spec: RenderSpec, on_progress: ProgressFn, cancel: threading.Event) -> RenderOutcome:
        """Render one snippet, reporting progress; raise Cancelled once `cancel` is set."""
        ...

    def close(self) -> None:
        """Release what load() acquired."""
        ...


@dataclass(frozen=True)
class FfmpegCommand:
    """A fully resolved render: the ffmpeg arguments (without the output file) and what it will produce."""

    args: list[str]
    total: float
    srt: str | None = None
    framing: Framing | None = None


@dataclass(frozen=True)
class Framing:
    """How the source fills the output: the layout used, its geometry, and the regions it used (source pixels)."""

    layout: Layout
    geometry: Geometry
    composition: Composition | None = None
    path: tuple[tuple[float, int], ...] = ()
    slide: Rect | None = None
    speaker: Rect | None = None
    analysis_seconds: float = 0.0


class FfmpegEngine:
    """Renders with the ffmpeg binary: libx264 on CPU, h264_nvenc on a GPU, chosen at load() by a test encode."""

    def __init__(self, settings: RendererSettings) -> None:
        self.settings = settings
        self.ffmpeg = ""
        self.encoder: Encoder | None = None
        self.colors: dict[str, str] = {}
        self._store: MediaStore | None = None

    @property
    def encoder_name(self) -> str:
        """The chosen encoder, or empty before load()."""
        return self.encoder.name if self.encoder else ""

    def load(self) -> None:
        """Open the media store, find ffmpeg, read its colour names and pick the encoder."""
        self._store = MediaStore(self.settings.media_root)
        try:
            self.ffmpeg = ffmpeg_exe()
            self.colors = ffmpeg_colors(self.ffmpeg)
        except (OSError, RuntimeError) as exc:  # no binary, not executable, or imageio-ffmpeg has none
            raise StartupError(f"ffmpeg is not usable: {exc}") from exc
        default_font = Path(self.settings.font)
        if not default_font.is_file():
            raise StartupError(f"default font {default_font} is missing")
        self.encoder = detect_encoder(self.ffmpeg, self.settings)

    def close(self) -> None:
        """Nothing to release: each render owns its ffmpeg process."""

    def _ready(self) -> tuple[Encoder, MediaStore]:
        if self.encoder is None or self._store is None:
            raise EngineUnavailable("the renderer is still starting")
        return self.encoder, self._store

    def render(self, spec: RenderSpec, on_progress: ProgressFn, cancel: threading.Event) -> RenderOutcome:
        """Render one snippet to a temporary file, then rename it to the public name."""
        encoder, store = self._ready()
        on_progress(RenderProgress(0.0, 0.0, "planning"))
        output = output_file(store, spec.output_path, "output_path")
        if output.suffix.lower() != ".mp4":
            raise InvalidInput("output_path must end in .mp4")
        output_file(store, Path(spec.output_path).with_suffix(".srt").as_posix(), "output_path (its .srt)")
        if output == store_path(store, spec.source_path, "source_path"):
            raise InvalidInput("output_path must differ from source_path")
        try:
            command, info, srt_rel = self._write(spec, store, on_progress, cancel)
        except OSError as exc:
            if exc.errno in DISK_FULL_ERRNOS:
                raise DiskFull(DISK_FULL_MESSAGE) from exc
            raise
        on_progress(RenderProgress(command.total, command.total, "done"))
        framing = command.framing
        assert framing is not None
        return RenderOutcome(
            output_path=spec.output_path,
            duration=info.duration,
            size_bytes=output.stat().st_size,
            encoder=encoder.name,
            srt_path=srt_rel,
            width=info.width,
            height=info.height,
            layout=framing.layout,
            slide=framing.slide,
            speaker=framing.speaker,
            analysis_seconds=framing.analysis_seconds,
        )

    def _write(
        self, spec: RenderSpec, store: MediaStore, on_progress: ProgressFn, cancel: threading.Event
    ) -> tuple[FfmpegCommand, MediaInfo, str]:
        """Encode to a temporary file beside the output, then publish the .srt and the .mp4; nothing on failure."""
        srt_rel = Path(spec.output_path).with_suffix(".srt").as_posix()
        with tempfile.TemporaryDirectory(prefix="aiat-render-") as tmp:
            work = Path(tmp)
            command = self.command(spec, work, cancel)
            srt: Path | None = None
            earlier: Path | None = None  # a hard link to the .srt this render replaces, until it has its .mp4
            try:
                with store.atomic_path(spec.output_path) as part:
                    run_ffmpeg(
                        [*command.args, str(part)], command.total, on_progress, cancel, work / "ffmpeg.log"
                    )
                    info = probe(part)
                    if command.srt is not None:
                        # Before the .mp4's rename, so an .srt that does not fit leaves no new .mp4 either.
                        earlier = _keep_earlier(store.resolve(srt_rel))
                        srt = store.write_bytes_atomic(srt_rel, command.srt.encode())
            except BaseException:
                # Clean-up only: an error here must not hide the render's own error.
                if srt is not None:  # the .mp4 was not renamed: no .srt without its video
                    _remove(srt)
                if earlier is not None:  # and the .srt of the earlier video back beside it
                    _put_back(earlier, store.resolve(srt_rel))
                raise
            if earlier is not None:  # the render is published: failing to tidy up must not fail it
                _remove(earlier)
        return command, info, srt_rel if srt is not None else ""

    def command(self, spec: RenderSpec, work: Path, cancel: threading.Event | None = None) -> FfmpegCommand:
        """Validate the spec against its media and build the ffmpeg command; writes text files into `work`."""
        encoder, store = self._ready()
        s = self.settings
        src, info = store_media(store, spec.source_path, "source_path")
        if not info.has_video or info.width <= 0 or info.height <= 0:
            raise InvalidInput(f"source {spec.source_path!r} has no video stream")
        rate = frame_rate(info)
        start, duration = snap_range(spec.start, spec.end, rate, info.duration)

        aspect = spec.aspect or s.default_aspect
        fontfile = resolve_font(spec.font, s.font_dirs, Path(s.font).resolve())
        text_color = parse_color(spec.text_color or s.text_color, self.colors)
        accent = parse_color(spec.accent_color or s.accent_color, self.colors)
        highlight = parse_color(s.highlight_color, self.colors)
        position = (spec.title_position or s.title_position).strip().lower()
        if position not in ("top", "bottom"):
            raise InvalidInput("title_position must be 'top' or 'bottom'")
        logo_path = self._logo(spec, store)
        logo = probe_image(logo_path) if logo_path is not None else None
        logo_size = logo.size if logo is not None else None
        captions_on = s.captions_enabled if spec.captions_enabled is None else spec.captions_enabled
        words = captions.shift_words(spec.words, start, start + duration)
        framing = self.framing(
            spec, src, info, aspect, start, duration, title_at_top=position == "top",
            captions=bool(words) and captions_on, logo_size=logo_size, cancel=cancel,
        )  # fmt: skip
        geom = framing.geometry
        w, h = geom.width, geom.height
        clear = framing.composition.clear if framing.composition is not None else None
        layout = frame_layout(
            aspect, w, h, title=spec.title, title_at_top=position == "top", logo_size=logo_size, clear=clear
        )

        args = [self.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        args += [*encoder.decode_args, "-ss", f"{start:.6f}", "-t", f"{duration:.6f}"]
        args += [*ffmpeg_input_args(info.format_name), "-i", str(src)]
        next_input = 1
        audio_input = 0
        if not info.has_audio:
            args += ["-f", "lavfi", "-t", f"{duration:.6f}", "-i", "anullsrc=r=48000:cl=stereo"]
            audio_input, next_input = next_input, next_input + 1

        graph = GraphSpec(
            geometry=geom, rate=rate, duration=duration, source_has_audio=info.has_audio,
            audio_input=audio_input, fontfile=fontfile, box_border=layout.box_border,
            composition=framing.composition, crop_path=framing.path,
            fill="blur" if s.fit_fill == "blur" else accent,
        )  # fmt: skip
        if logo is not None:
            graph.logo_input, graph.logo = next_input, layout.logo
            args += [*logo.input_args, "-i", str(logo_path)]
            next_input += 1
        graph.title_lines = _text_lines(
            work, "title", layout.title, text_color, accent, self._font_for(layout.title, fontfile)
        )

        normalize = s.normalize_audio if spec.normalize_audio is None else spec.normalize_audio
        graph.normalize = s.loudnorm if normalize else None

        intro_on = s.intro_enabled if spec.intro_enabled is None else spec.intro_enabled
        intro_video = spec.intro_video or s.intro_video
        if intro_on and intro_video:
            ipath, iinfo = store_media(store, intro_video, "intro video_path")
            if not iinfo.has_video:
                raise InvalidInput(f"intro video {intro_video!r} has no video stream")
            if iinfo.duration > MAX_INTRO_SECONDS:
                raise InvalidInput(f"intro video {intro_video!r} is longer than {MAX_INTRO_SECONDS:g} s")
            graph.intro_seconds = whole_frames(iinfo.duration, rate)
            graph.intro_input, graph.intro_has_audio = next_input, iinfo.has_audio
            args += [*ffmpeg_input_args(iinfo.format_name), "-i", str(ipath)]
            next_input += 1
        elif intro_on:
            seconds = spec.intro_seconds if spec.intro_seconds > 0 else s.intro_seconds
            if not math.isfinite(seconds) or seconds > MAX_INTRO_SECONDS:
                raise InvalidInput(f"intro seconds must be at most {MAX_INTRO_SECONDS:g}")
            graph.intro_seconds = whole_frames(seconds, rate)
            graph.intro_color = accent
            card = intro_card(w, h, title=spec.title, module=spec.module, session_name=spec.session_name)
            graph.intro_lines = _text_lines(
                work, "intro", card, text_color, None, self._font_for(card, fontfile)
            )

        write_srt = s.captions_write_srt if spec.write_srt is None else spec.write_srt
        srt = None
        if words and (captions_on or write_srt):
            box = layout.captions
            cues = captions.build_cues(words, max_chars=box.max_chars)
            if captions_on:
                caption_font = font_for_text(" ".join(w.text for w in words), fontfile, s.font_dirs)
                family, bold = font_family(caption_font)
                style = captions.AssStyle(
                    width=w, height=h, font_name=family, font_size=box.font_size, bold=bold,
                    primary=ass_color(text_color), highlight=ass_color(highlight), margin_v=box.margin_v,
                    top=box.top,
                )  # fmt: skip
                highlight_on = s.captions_highlight if spec.highlight_words is None else spec.highlight_words
                graph.ass_file = work / "captions.ass"
                graph.ass_file.write_text(captions.ass_document(cues, style, highlight_on), encoding="utf-8")
                graph.fonts_dir = caption_font.parent
            if write_srt:
                srt = captions.srt_text(cues, offset=graph.intro_seconds)

        args += ["-filter_complex", build_graph(graph), "-map", "[vout]", "-map", "[aout]"]
        args += [*encoder.args, "-pix_fmt", "yuv420p"]
        args += ["-c:a", "aac", "-b:a", s.audio_bitrate, "-ar", "48000", "-ac", "2"]
        args += ["-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart"]
        args += ["-f", "mp4", "-progress", "pipe:1", "-nostats"]
        return FfmpegCommand(args=args, total=graph.intro_seconds + duration, srt=srt, framing=framing)

    def _font_for(self, placed: tuple[PlacedText, ...], fontfile: Path) -> Path:
        """One font for a block of lines: the brand's, or one that has the block's script."""
        return font_for_text(" ".join(p.text for p in placed), fontfile, self.settings.font_dirs)

    def framing(
        self,
        spec: RenderSpec,
        src: Path,
        info: MediaInfo,
        aspect: Aspect,
        start: float,
        duration: float,
        *,
        title_at_top: bool,
        captions: bool,
        logo_size: tuple[int, int] | None,
        cancel: threading.Event | None = None,
    ) -> Framing:
        """The layout for a snippet: the requested one, or for `auto` the one the video's regions call for."""
        s = self.settings
        src_w, src_h = info.width, info.height
        width, height = output_size(aspect, src_h, s.landscape_max_height, s.square_size)
        explicit_crop = spec.x_center is not None or spec.roi is not None
        wanted = spec.layout or s.default_layout
        if wanted == Layout.AUTO and explicit_crop:
            wanted = Layout.CROP
        given_slide = clip_rect(spec.slide, src_w, src_h) if spec.slide is not None else None
        given_speaker = clip_rect(spec.speaker, src_w, src_h) if spec.speaker is not None else None
        needs = {
            Layout.AUTO: given_slide is None or given_speaker is None,
            Layout.CROP: not explicit_crop and given_speaker is None,
            Layout.FIT: given_slide is None,
            Layout.STACK: given_slide is None or given_speaker is None,
        }[wanted]
        found = self._analyze(src, start, duration, cancel) if needs else None
        slides = given_slide is not None or (found is not None and found.has_slides)
        slide = given_slide or (found.slide if found is not None and found.has_slides else None)
        speaker = given_speaker or (found.speaker if found is not None else None)
        seconds = found.seconds if found is not None else 0.0
        layout = wanted
        if layout == Layout.AUTO:
            layout = (
                (Layout.STACK if speaker is not None and height > width else Layout.FIT)
                if slides
                else Layout.CROP
            )
        bands = clear_bands(
            width, height, title=spec.title, captions=captions, title_at_top=title_at_top,
            logo_h=logo_height(width, height, logo_size),
        )  # fmt: skip
        whole = Geometry(width, height, None)
        if layout == Layout.STACK and speaker is not None:
            stack = compose_stack(
                width,
                height,
                slide or Rect(0, 0, src_w, src_h),
                speaker,
                src_w=src_w,
                src_h=src_h,
                bands=bands,
            )
            if stack is not None:
                return Framing(Layout.STACK, whole, stack, (), slide, speaker, seconds)
        if layout in (Layout.STACK, Layout.FIT):
            fit = compose_fit(width, height, src_w, src_h, keep=slide, bands=bands)
            if slide is not None and speaker is not None:
                # Keep the speaker clear of the captions too, unless that shrinks the slide noticeably.
                both = compose_fit(width, height, src_w, src_h, keep=union(slide, speaker), bands=bands)
                if both.tiles[0].target.w >= 0.9 * fit.tiles[0].target.w:
                    fit = both
            return Framing(Layout.FIT, whole, fit, (), slide, speaker, seconds)
        if explicit_crop or speaker is None:
            geom = compute_geometry(
                aspect, src_w, src_h, x_center=spec.x_center, roi=spec.roi,
                landscape_max_height=s.landscape_max_height, square_size=s.square_size,
            )  # fmt: skip
            return Framing(Layout.CROP, geom, None, (), slide, speaker, seconds)
        geom = compute_geometry(
            aspect, src_w, src_h, x_center=(speaker.x + speaker.w / 2) / src_w,
            landscape_max_height=s.landscape_max_height, square_size=s.square_size,
        )  # fmt: skip
        path: tuple[tuple[float, int], ...] = ()
        if geom.crop is not None and given_speaker is None and found is not None and found.centres:
            win = geom.crop.w
            path = crop_path(found.centres, win, src_w, max_speed=0.15 * src_w, hold=0.15 * win)
        return Framing(Layout.CROP, geom, None, path, slide, speaker, seconds)

    def _analyze(
        self, src: Path, start: float, duration: float, cancel: threading.Event | None
    ) -> Analysis | None:
        """The snippet's regions, or None (no evidence: crop or fit) when the analysis fails or runs too long."""
        try:
            s = self.settings
            return analyze(
                src,
                start,
                duration,
                samples=s.analysis_samples,
                cancel=cancel,
                timeout=s.analysis_timeout_seconds,
            )
        except Cancelled:
            raise
        except Exception:
            # Best effort: an OpenCV error, a missing cascade, a decode or seek error, a video track that ends
            # before the audio, or the time budget must not cost the user the render itself.
            log.warning("layout analysis of %s failed; framing without regions", src.name, exc_info=True)
            return None

    def _logo(self, spec: RenderSpec, store: MediaStore) -> Path | None:
        """The logo file of the spec or the settings' brand; None without one."""
        logo_rel = spec.logo_path or self.settings.logo_path
        if not logo_rel:
            return None
        path = store_path(store, logo_rel, "logo_path")
        if not path.is_file():
            raise MediaNotFound(f"logo_path {logo_rel!r} does not exist in the media store")
        return path


def _text_lines(
    work: Path,
    name: str,
    placed: tuple[PlacedText, ...],
    color: str,
    box_color: str | None = None,
    fontfile: Path | None = None,
) -> list[TextLine]:
    """drawtext lines for placed text, each written to its own file in `work`."""
    return [
        TextLine(write_text(work, f"{name}{i}", p.text), p.y, p.size, color, box_color, fontfile)
        for i, p in enumerate(placed)
    ]


def build_engine(settings: RendererSettings) -> FfmpegEngine:
    """The engine the settings describe, not loaded yet (no I/O: load() finds ffmpeg and probes the encoder)."""
    return FfmpegEngine(settings)


def _keep_earlier(path: Path) -> Path | None:
    """A hidden hard link to `path` beside it, so the file can be put back; None when there is none.

    Best effort: where the store refuses hard links (vfat, some network shares) the render goes on
    without a copy to put back, as it did before the copy was kept.
    """
    if not path.is_file():
        return None
    link = path.with_name(f".{path.name}.{uuid.uuid4().hex}.earlier")
    try:
        os.link(path, link)
    except OSError as exc:
        log.warning("could not keep %s to put back if the render fails: %s", path.name, exc)
        return None
    return link


def _put_back(earlier: Path, path: Path) -> None:
    """`earlier` renamed to `path`; logged, and `earlier` removed, if that fails."""
    try:
        earlier.replace(path)
    except OSError as exc:
        log.warning("could not put back the earlier %s: %s", path.name, exc)
        _remove(earlier)


def _remove(path: Path) -> None:
    """Delete `path` if it is there; a failure is logged, not raised (clean-up after a render)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove %s: %s", path.name, exc)
