"""Media facts without ffprobe: PyAV opens the allowed containers (safe_media). Also finds the ffmpeg binary."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av

from aiat.errors import InvalidInput, MediaNotFound
from aiat.safe_media import RefusedMedia, demuxer_of, open_media
from aiat.store import MediaStore, StorePathError


class UnreadableMedia(ValueError):
    """The file is not a media file FFmpeg can read, or has no usable stream."""


@dataclass(frozen=True)
class MediaInfo:
    """What a render or a transcription needs to know about a media file."""

    duration: float
    format_name: str
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    sample_rate: int = 0

    @property
    def demuxer(self) -> str:
        """The FFmpeg demuxer that read the file ("mov" for "mov,mp4,m4a,…")."""
        return demuxer_of(self.format_name)


def probe(path: Path) -> MediaInfo:
    """Read container and stream facts; raise UnreadableMedia for anything FFmpeg cannot use."""
    try:
        with open_media(path) as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            if video is None and audio is None:
                raise UnreadableMedia("the file has no audio or video stream")
            duration = _duration(container, video, audio)
            fps = 0.0
            if video is not None:
                rate = video.average_rate or video.guessed_rate or video.base_rate
                fps = float(Fraction(rate)) if rate else 0.0
            return MediaInfo(
                duration=duration,
                format_name=str(container.format.name),
                has_video=video is not None,
                has_audio=audio is not None,
                width=int(video.codec_context.width) if video is not None else 0,
                height=int(video.codec_context.height) if video is not None else 0,
                fps=fps,
                video_codec=str(video.codec_context.name) if video is not None else "",
                audio_codec=str(audio.codec_context.name) if audio is not None else "",
                sample_rate=int(audio.codec_context.sample_rate or 0) if audio is not None else 0,
            )
    except UnreadableMedia:
        raise
    except RefusedMedia as exc:
        raise UnreadableMedia(str(exc)) from exc
    except (av.FFmpegError, OSError, ValueError) as exc:
        # strerror leaves out the file name: the server's paths stay out of user-facing messages.
        reason = getattr(exc, "strerror", None) or exc
        raise UnreadableMedia(f"not a readable media file ({exc.__class__.__name__}: {reason})") from exc


def probe_isolated(path: Path, timeout: float) -> MediaInfo:
    """probe() in a child process killed after `timeout` seconds, so a hostile file cannot hold the caller."""
    command = [sys.executable, "-m", "aiat.media", str(path)]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise UnreadableMedia(f"reading the media took longer than {timeout:g} s") from exc
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        # Killed by a signal or crashed inside FFmpeg: the file is not usable either way.
        raise UnreadableMedia(f"the media reader stopped with exit status {done.returncode}")
    if "error" in answer:
        raise UnreadableMedia(str(answer["error"]))
    return MediaInfo(**answer)


def _duration(container: av.container.InputContainer, *streams: av.stream.Stream | None) -> float:
    if container.duration is not None and container.duration > 0:
        return float(container.duration / av.time_base)
    best = 0.0
    for stream in streams:
        if stream is not None and stream.duration is not None and stream.time_base is not None:
            best = max(best, float(stream.duration * stream.time_base))
    if best <= 0:
        raise UnreadableMedia("the media duration cannot be determined")
    return best


def store_path(store: MediaStore, rel: str, what: str) -> Path:
    """Absolute path of a store-relative path named by a request field; InvalidInput if it is unusable."""
    try:
        return store.resolve(rel)
    except StorePathError as exc:
        raise InvalidInput(f"{what}: {exc}") from exc


def store_media(store: MediaStore, rel: str, what: str) -> tuple[Path, MediaInfo]:
    """Path and facts of a media file named by a request field: MediaNotFound or InvalidInput otherwise."""
    path = store_path(store, rel, what)
    if not path.is_file():
        raise MediaNotFound(f"no such media file in the store: {what} {rel!r}")
    try:
        return path, probe(path)
    except UnreadableMedia as exc:
        raise InvalidInput(f"{what} {rel!r}: {exc}") from exc


@functools.cache
def ffmpeg_exe() -> str:
    """The ffmpeg binary: $AIAT_FFMPEG, else the system's, else the static one from imageio-ffmpeg."""
    configured = os.environ.get("AIAT_FFMPEG")
    if configured:
        return configured
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _main(argv: list[str]) -> int:
    """`python -m aiat.media FILE`: the probe as one JSON line (the child of probe_isolated)."""
    try:
        answer: dict[str, object] = asdict(probe(Path(argv[1])))
    except UnreadableMedia as exc:
        answer = {"error": str(exc)}
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
