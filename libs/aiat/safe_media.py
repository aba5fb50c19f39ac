"""Opening untrusted media: the `file` protocol only and a whitelist of self-contained container formats.

FFmpeg picks a demuxer by probing the first bytes, and some demuxers (hls, dash, concat, image2…) then
open the files or URLs the input names. With `format_whitelist` FFmpeg refuses any other demuxer after
probing and before the demuxer reads the header, so a playlist never opens what it references.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.container

# Demuxers whose input is one self-contained file. "mov" is also mp4/m4a/3gp, "matroska" also webm.
ALLOWED_DEMUXERS: tuple[str, ...] = (
    "mov",
    "matroska",
    "avi",
    "mpegts",
    "mpeg",
    "flv",
    "asf",
    "wav",
    "mp3",
    "ogg",
    "flac",
    "aac",
)
ALLOWED_DESCRIPTION = "MP4/MOV/M4A, MKV/WebM, AVI, MPEG-TS/PS, FLV, WMV, WAV, MP3, Ogg, FLAC or AAC"

# Demuxers of one still image (a logo). image2 also reads numbered sequences and globs: IMAGE2_OPTIONS stops that.
IMAGE_DEMUXERS: tuple[str, ...] = ("png_pipe", "jpeg_pipe", "webp_pipe", "image2")
IMAGE2_OPTIONS: dict[str, str] = {"pattern_type": "none"}

# AVFormatContext options for every open of a file that came from a user.
INPUT_OPTIONS: dict[str, str] = {
    "protocol_whitelist": "file",
    "format_whitelist": ",".join(ALLOWED_DEMUXERS),
}

_SNIFF_BYTES = 4096
_KNOWN_REFERENCES: tuple[tuple[bytes, str], ...] = (
    (b"#extm3u", "an HLS playlist"),
    (b"ffconcat", "a concat list"),
    (b"<mpd", "a DASH manifest"),
    (b"<smil", "a SMIL playlist"),
    (b"[playlist]", "a PLS playlist"),
)


class RefusedMedia(ValueError):
    """FFmpeg found no allowed container format in the file (a playlist, an image sequence, …)."""


def demuxer_of(format_name: str) -> str:
    """The demuxer to force for `ffmpeg -f` from a container's format name ("mov,mp4,…" -> "mov")."""
    return format_name.split(",", 1)[0]


def ffmpeg_input_args(format_name: str, allowed: tuple[str, ...] = ALLOWED_DEMUXERS) -> list[str]:
    """Input options for an ffmpeg command reading an untrusted file probed as `format_name`."""
    demuxer = demuxer_of(format_name)
    if demuxer not in allowed:
        raise RefusedMedia(f"the {demuxer!r} container format is not allowed")
    args = [
        "-protocol_whitelist",
        INPUT_OPTIONS["protocol_whitelist"],
        "-format_whitelist",
        ",".join(allowed),
    ]
    if demuxer == "image2":
        for key, value in IMAGE2_OPTIONS.items():
            args += [f"-{key}", value]
    return [*args, "-f", demuxer]


def _looks_like(path: Path) -> str | None:
    """What a file that names other files or URLs looks like from its first bytes, if it is one."""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES).lower()
    except OSError:
        return None
    return next((what for marker, what in _KNOWN_REFERENCES if marker in head), None)


def describe_refused(path: Path) -> str:
    """Why a file was refused, for the user: what it looks like when known, and what is allowed."""
    kind = _looks_like(path) or "not in an allowed container format"
    return f"the file is {kind}; accepted formats: {ALLOWED_DESCRIPTION}"


def open_media(
    path: Path, *, allowed: tuple[str, ...] = ALLOWED_DEMUXERS, **kwargs: object
) -> av.container.InputContainer:
    """Open an untrusted media file with PyAV under the whitelists; RefusedMedia when no allowed format fits."""
    if not path.is_file():
        # A FIFO or device would block or read without end; only regular files are media here.
        raise RefusedMedia(f"{path.name} is not a regular file")
    options = {**INPUT_OPTIONS, "format_whitelist": ",".join(allowed)}
    if "image2" in allowed:
        options.update(IMAGE2_OPTIONS)
    try:
        container = av.open(str(path), "r", container_options=options, **kwargs)  # type: ignore[call-overload]
    except av.error.ArgumentError as exc:
        # EINVAL from avformat_open_input: the probed demuxer is not on the whitelist.
        raise RefusedMedia(describe_refused(path)) from exc
    except av.error.InvalidDataError as exc:
        # No demuxer recognised it; say so plainly when it is a playlist of a kind FFmpeg did not detect.
        if _looks_like(path) is not None:
            raise RefusedMedia(describe_refused(path)) from exc
        raise
    assert isinstance(container, av.container.InputContainer)
    return container
