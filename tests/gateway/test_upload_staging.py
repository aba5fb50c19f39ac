"""Staged uploads (`uploads/*.part`) a crashed gateway left are removed; a file still being received never is."""

from __future__ import annotations

import os
import time
from pathlib import Path

from aiat.store import MediaStore
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.uploads import UploadReceiver
from tests.gateway.test_uploads import upload_gateway

HOUR = 3600.0


def staging(tmp_path: Path) -> Path:
    """The gateway's staging directory for a store under tmp_path/data (as make_settings sets it)."""
    root = GatewaySettings.model_validate({"data_dir": tmp_path / "data"}).media_root
    path = MediaStore(root).resolve("uploads")
    path.mkdir(parents=True, exist_ok=True)
    return path


def aged(path: Path, seconds: float, data: bytes = b"\0" * 100) -> Path:
    """Write `path` and set its mtime `seconds` in the past."""
    path.write_bytes(data)
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def wait_gone(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while path.exists():
        assert time.monotonic() < deadline, f"{path.name} was not removed"
        time.sleep(0.05)


def test_a_starting_gateway_removes_abandoned_parts_and_keeps_fresh_ones(
    tmp_path: Path, database_url: str
) -> None:
    directory = staging(tmp_path)
    abandoned = aged(directory / "crashed.part", 2 * HOUR)
    fresh = aged(directory / "receiving.part", 5)
    other = aged(directory / "notes.txt", 2 * HOUR)
    for gw in upload_gateway(tmp_path, database_url):
        assert not abandoned.exists()  # gone before the first request is served
        assert fresh.exists() and other.exists()
        assert gw.client.get("/healthz").status_code == 200


def test_a_running_gateway_sweeps_periodically_never_within_the_quiet_window(
    tmp_path: Path, database_url: str
) -> None:
    directory = staging(tmp_path)
    # A tiny age: sweeps every 0.25 s, but a file is only ever stale past read timeout + probe + 60 s.
    for _gw in upload_gateway(
        tmp_path, database_url, upload_stale_part_seconds=1, upload_read_timeout_seconds=30,
        media_probe_timeout_seconds=60,
    ):  # fmt: skip
        late = aged(directory / "crashed-later.part", 2 * HOUR)
        quiet = aged(directory / "probing-elsewhere.part", 100)  # another gateway's probe may take this long
        wait_gone(late)
        time.sleep(0.6)  # two more sweeps
        assert quiet.exists()


def multipart_head(boundary: bytes) -> bytes:
    return (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="lecture.mp4"\r\n'
        b"Content-Type: video/mp4\r\n\r\n"
    )


def test_a_file_being_received_keeps_its_mtime_fresh_while_nothing_reaches_the_disk(tmp_path: Path) -> None:
    dest = staging(tmp_path) / "slow.part"
    receiver = UploadReceiver(b"XyZ", dest, 10_000_000)
    try:
        # Fewer bytes than the sniffing window: held in memory, so writes alone would not touch the file.
        receiver.feed(multipart_head(b"XyZ") + b"\0\0\0\x20ftypisom")
        past = time.time() - 2 * HOUR
        os.utime(dest, (past, past))
        receiver.feed(b"\0" * 100)
        assert time.time() - dest.stat().st_mtime < 5
    finally:
        receiver.close()
        dest.unlink(missing_ok=True)


def test_an_upload_cut_off_by_a_crash_leaves_nothing_after_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    directory = staging(tmp_path)
    dest = directory / "cut-off.part"
    receiver = UploadReceiver(b"XyZ", dest, 10_000_000)
    receiver.feed(multipart_head(b"XyZ") + b"\0\0\0\x20ftypisom" + b"\0" * 5000)
    receiver.close()  # the process died here: no answer, no cleanup
    past = time.time() - 2 * HOUR
    os.utime(dest, (past, past))
    for _gw in upload_gateway(tmp_path, database_url):
        assert not dest.exists()
        assert list(directory.iterdir()) == []
