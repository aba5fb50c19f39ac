"""The ffmpeg binary and its inputs: running it with progress and cancellation, colour names, image sizes."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import av

from aiat.errors import Cancelled, DiskFull, EngineError, InvalidInput
from aiat.procs import dying_with_this_process
from aiat.safe_media import IMAGE_DEMUXERS, RefusedMedia, ffmpeg_input_args, open_media
from aiat_renderer.spec import ProgressFn, RenderProgress

DISK_FULL_MESSAGE = "the server ran out of disk space while rendering the snippet"
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
# How ffmpeg reports those errnos in its log (strerror text).
_DISK_FULL_TEXT = tuple(os.strerror(code) for code in sorted(DISK_FULL_ERRNOS))


def ffmpeg_colors(ffmpeg: str) -> dict[str, str]:
    """FFmpeg's colour names (lower case) to RRGGBB, from `ffmpeg -colors`."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-colors"], capture_output=True, text=True, check=False)
    colors = {}
    for line in done.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("#"):
            colors[parts[0].lower()] = parts[1][1:].lower()
    return colors


@dataclass(frozen=True)
class Image:
    """A still image's width and height, and the ffmpeg input options that read only that file."""

    size: tuple[int, int]
    input_args: list[str]


def probe_image(path: Path) -> Image:
    """Size and ffmpeg input options of a still image (PNG, JPEG, WebP); InvalidInput otherwise.

    Opened under the image whitelists: a playlist or a `%d` name never reads other files or URLs.
    """
    try:
        with open_media(path, allowed=IMAGE_DEMUXERS) as container:
            stream = container.streams.video[0]
            width, height = int(stream.codec_context.width), int(stream.codec_context.height)
            args = ffmpeg_input_args(str(container.format.name), IMAGE_DEMUXERS)
    except (av.FFmpegError, OSError, IndexError, ValueError) as exc:  # RefusedMedia is a ValueError
        why = (
            "is not a PNG, JPEG or WebP image" if isinstance(exc, RefusedMedia) else "is not a readable image"
        )
        raise InvalidInput(f"{path.name} {why}") from exc
    if width <= 0 or height <= 0:
        raise InvalidInput(f"{path.name} is not a readable image")
    return Image((width, height), args)


def write_text(work: Path, name: str, text: str) -> Path:
    """Write one line for drawtext's textfile= (UTF-8, no trailing newline, which drawtext would draw)."""
    path = work / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    return path


def run_ffmpeg(
    args: list[str], total: float, on_progress: ProgressFn, cancel: threading.Event, log_path: Path
) -> None:
    """Run ffmpeg, reporting progress from `-progress pipe:1`; kill it as soon as `cancel` is set.

    DiskFull when it could not write its output (no space, or a file size limit); ffmpeg dies with
    this process: this thread waits for it, so the kernel's parent-death signal is the right one.
    """
    with open(log_path, "wb") as err:
        proc = subprocess.Popen(
            dying_with_this_process(args),
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
        )

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
                    on_progress(RenderProgress(done, total, "encoding"))
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            watcher.join()
    if cancel.is_set():
        raise Cancelled("render cancelled; ffmpeg stopped")
    if proc.returncode != 0:
        text = log_path.read_text(errors="replace")
        # Killed by SIGXFSZ: a file size limit (RLIMIT_FSIZE) under the signal's default action.
        if proc.returncode == -signal.SIGXFSZ or any(t in text for t in _DISK_FULL_TEXT):
            raise DiskFull(DISK_FULL_MESSAGE)
        tail = text.strip().splitlines()[-5:]
        raise EngineError(f"ffmpeg failed (exit {proc.returncode}): {' | '.join(tail)}")
