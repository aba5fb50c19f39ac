"""Hostile downloads through the real session pipeline and fake Drive: playlists, limits, probe deadline, disk full."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiat.store import MediaStore
from aiat_gateway.db.connection import make_engine, make_session_factory
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.db.models import Status
from aiat_gateway.sessions import create_session
from aiat_gateway.settings import GatewaySettings
from tests.fakes.canary import Canary
from tests.fakes.fake_drive import FakeDrive
from tests.fixtures.media import counter_video
from tests.gateway.conftest import make_settings
from tests.gateway.worker.test_pipeline import FakeClients, run_job

OTHER_SESSION = 999


class WatchedFile:
    """Another session's lecture on the server's disk, as a FIFO: any open for reading is seen."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        self.path = path
        self.opened = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)  # blocks until somebody opens the file for reading
        if not self._closing:
            self.opened.set()
        os.close(fd)

    def close(self) -> None:
        """Release the watcher by opening the reading end ourselves."""
        self._closing = True
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._thread.join(5)
        os.close(fd)


def files_under(root: Path) -> list[str]:
    """Names of the regular files below `root`."""
    return [p.name for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database (what is tested here does not depend on the database)."""
    url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
    upgrade(url)
    return url


async def run_download(
    settings: GatewaySettings, drive: FakeDrive, data: bytes | Path, name: str
) -> tuple[str, str]:
    """Serve `data` as a Drive file, run a session for it; its final status and error message."""
    file_id = drive.new_id()
    link = drive.add_file(file_id, data, filename=name)
    factory = make_session_factory(make_engine(settings.sqlalchemy_url))
    with factory.begin() as db:
        session, _ = create_session(db, name, None, link, file_id)
    row = await run_job(settings, session.id, FakeClients())
    return row.job_status, row.error_message or ""


def playlists(canary: str, local: Path) -> dict[str, bytes]:
    """Playlists naming the canary and a local file; each passes the download's sniffing (a non-UTF-8 byte)."""
    return {
        "hls-local": (
            b"#EXTM3U\n#EXT-X-TARGETDURATION:400\n# \xff\n#EXTINF:386,\n"
            + str(local).encode()
            + b"\n#EXT-X-ENDLIST\n"
        ),
        "hls-http": (
            b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n# \xff\n#EXTINF:10,\n"
            + f"{canary}/segment0.ts\n#EXTINF:10,\n{local}\n#EXT-X-ENDLIST\n".encode()
        ),
        "ffconcat": f"ffconcat version 1.0\n# \xff\nfile '{local}'\nfile '{canary}/a.mp4'\n".encode(
            "latin-1"
        ),
        "dash": (
            b'<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" '
            b'type="static" mediaPresentationDuration="PT386S"><!-- \xff --><Period><AdaptationSet><Representation '
            + f'id="1" bandwidth="1"><BaseURL>{canary}/v.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>'.encode()
        ),
    }


@pytest.mark.parametrize("kind", ["hls-local", "hls-http", "ffconcat", "dash"])
async def test_a_playlist_fails_the_session_and_reads_nothing_it_names(
    tmp_path: Path, sqlite_url: str, canary: Canary, kind: str
) -> None:
    settings = make_settings(tmp_path, sqlite_url, "nats://127.0.0.1:1")
    store = MediaStore(settings.media_root)
    lecture = WatchedFile(store.resolve(f"{store.session_dir(OTHER_SESSION)}/source/lecture.mp4"))
    try:
        with FakeDrive() as drive:
            settings = make_settings(
                tmp_path, sqlite_url, "nats://127.0.0.1:1", drive_endpoint=drive.base_url
            )
            # The names FFmpeg's probes want (HLS is only detected with its own extension).
            name = {"hls-local": "a.m3u8", "hls-http": "a.m3u8", "ffconcat": "a.txt", "dash": "a.mpd"}[kind]
            data = playlists(canary.url, lecture.path)[kind]
            status, error = await run_download(settings, drive, data, name)
    finally:
        lecture.close()
    assert status == Status.FAILED
    assert error.startswith("The downloaded file is not a readable video: the file is ")
    assert "accepted formats: MP4/MOV/M4A, MKV/WebM" in error
    if kind.startswith("hls"):
        assert "an HLS playlist" in error
    assert canary.hits == []
    assert not lecture.opened.is_set(), "the playlist made FFmpeg open another session's lecture"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s 320x180 H.264/AAC clip."""
    return counter_video(tmp_path_factory.mktemp("clip") / "clip.mp4", 2.0, width=320, height=180)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({}, None),
        ({"media_max_duration_seconds": 1.5}, "The video is too long: 2 s, the limit is 2 s"),
        ({"media_max_width": 200}, "The video resolution 320x180 is over the limit of 200x4096"),
        ({"media_max_height": 100}, "The video resolution 320x180 is over the limit of 4096x100"),
        (
            {"media_probe_timeout_seconds": 0.01},
            "The downloaded file is not a readable video: reading the media",
        ),
    ],
    ids=["within", "duration", "width", "height", "probe-deadline"],
)
async def test_media_limits_fail_the_session_clearly(
    tmp_path: Path, sqlite_url: str, clip: Path, limits: dict[str, float], message: str | None
) -> None:
    with FakeDrive() as drive:
        settings = make_settings(
            tmp_path, sqlite_url, "nats://127.0.0.1:1", drive_endpoint=drive.base_url, **limits
        )
        status, error = await run_download(settings, drive, clip, "clip.mp4")
    if message is None:
        assert (status, error) == (Status.FINISHED, "")
        return
    assert status == Status.FAILED
    assert error.startswith(message)
    source = MediaStore(settings.media_root).resolve("sessions")
    assert await asyncio.to_thread(files_under, source) == [], "a refused download stays on disk"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs to hold the media store."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True, capture_output=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


async def test_disk_full_during_a_download_fails_clearly_and_leaves_no_partial_file(
    tmp_path: Path, sqlite_url: str, small_disk: Path
) -> None:
    video = os.urandom(3 << 20)  # not text, so it passes the sniffing; larger than the disk
    with FakeDrive() as drive:
        settings = make_settings(
            tmp_path, sqlite_url, "nats://127.0.0.1:1", drive_endpoint=drive.base_url, data_dir=small_disk
        )
        status, error = await run_download(settings, drive, video, "big.mp4")
    assert status == Status.FAILED
    assert error.startswith("Download failed: The server ran out of disk space after ")
    assert await asyncio.to_thread(files_under, small_disk) == []


async def test_a_file_size_limit_counts_as_disk_full(tmp_path: Path, sqlite_url: str) -> None:
    """RLIMIT_FSIZE (EFBIG) is refused like ENOSPC: no retry of the transfer can fit either."""
    video = os.urandom(3 << 20)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    with FakeDrive() as drive:
        settings = make_settings(tmp_path, sqlite_url, "nats://127.0.0.1:1", drive_endpoint=drive.base_url)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, hard))
        try:
            status, error = await run_download(settings, drive, video, "big.mp4")
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            signal.signal(signal.SIGXFSZ, previous)
    assert status == Status.FAILED
    assert "ran out of disk space" in error
    source = MediaStore(settings.media_root).resolve("sessions")
    assert await asyncio.to_thread(files_under, source) == []
