"""Untrusted media opens: allowed containers read, playlists refused before they open what they name."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import pytest

from aiat.media import UnreadableMedia, ffmpeg_exe, probe, probe_isolated
from aiat.safe_media import RefusedMedia, ffmpeg_input_args, open_media

# Each allowed family, written by ffmpeg: (file name, output options).
ALLOWED = {
    "clip.mp4": ["-c:v", "libx264", "-c:a", "aac"],
    "clip.m4a": ["-vn", "-c:a", "aac"],
    "clip.mkv": ["-c:v", "libx264", "-c:a", "aac"],
    "clip.webm": ["-c:v", "libvpx", "-c:a", "libopus"],
    "clip.avi": ["-c:v", "mpeg4", "-c:a", "mp3"],
    "clip.ts": ["-c:v", "libx264", "-c:a", "aac"],
    "clip.flv": ["-c:v", "flv", "-c:a", "mp3"],
    "clip.wmv": ["-c:v", "wmv2", "-c:a", "wmav2"],
    "clip.wav": ["-vn"],
    "clip.mp3": ["-vn"],
    "clip.ogg": ["-vn", "-c:a", "libvorbis"],
    "clip.flac": ["-vn"],
}


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s clip in every allowed container, and an HLS playlist naming one of them."""
    root = tmp_path_factory.mktemp("media")
    for name, options in ALLOWED.items():
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=d=1:s=64x64:r=10",
             "-f", "lavfi", "-i", "sine=d=1", *options, "-shortest", str(root / name)],
            check=True,
        )  # fmt: skip
    (root / "list.m3u8").write_bytes(
        b"#EXTM3U\n#EXT-X-TARGETDURATION:400\n# \xff\n#EXTINF:386,\n"
        + str(root / "clip.mp4").encode()
        + b"\n#EXT-X-ENDLIST\n"
    )
    return root


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_every_allowed_container_is_read(media_dir: Path, name: str) -> None:
    info = probe(media_dir / name)
    assert info.has_audio and 0.9 <= info.duration <= 1.2


def test_pyav_alone_opens_the_playlist_and_reads_the_local_file_it_names(media_dir: Path) -> None:
    """The threat, shown: a plain av.open follows the playlist to the other file."""
    with av.open(str(media_dir / "list.m3u8")) as container:
        assert container.format.name == "hls"
        assert container.duration is not None and container.duration / av.time_base == 386


def test_the_playlist_is_refused_by_name(media_dir: Path) -> None:
    with pytest.raises(RefusedMedia, match="the file is an HLS playlist; accepted formats: MP4"):
        open_media(media_dir / "list.m3u8")
    with pytest.raises(UnreadableMedia, match="HLS playlist"):
        probe_isolated(media_dir / "list.m3u8", 30)


def test_only_regular_files_are_opened(tmp_path: Path) -> None:
    with pytest.raises(RefusedMedia, match="not a regular file"):
        open_media(tmp_path)


def test_ffmpeg_inputs_are_forced_to_the_probed_demuxer(media_dir: Path) -> None:
    """The renderer's input options: a playlist renamed .mp4 is not followed by ffmpeg either."""
    info = probe(media_dir / "clip.mp4")
    args = ffmpeg_input_args(info.format_name)
    assert args[-2:] == ["-f", "mov"]
    run = [ffmpeg_exe(), "-v", "error", "-nostdin", *args, "-i"]
    ok = subprocess.run(
        [*run, str(media_dir / "clip.mp4"), "-f", "null", "-"], capture_output=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*run, str(media_dir / "list.m3u8"), "-f", "null", "-"], capture_output=True, check=False
    )
    assert bad.returncode != 0
    # Without -f but with the whitelist, ffmpeg refuses the hls demuxer it probed.
    whitelist_only = [a for a in args if a not in ("-f", "mov")]
    refused = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-nostdin",
            *whitelist_only,
            "-i",
            str(media_dir / "list.m3u8"),
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0 and "not on whitelist" in refused.stderr
    with pytest.raises(RefusedMedia):
        ffmpeg_input_args("hls")
