"""DriveDownloader against the fake Drive server on loopback: every response it has to handle."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiat_gateway.drive import (
    DriveBlocked,
    DriveDownloader,
    DriveError,
    DriveFolderLink,
    DriveNetworkError,
    DriveNotFound,
    DriveNotPublic,
    DriveNotVideo,
    DriveQuotaExceeded,
    DriveTooLarge,
    DriveUnavailable,
    InvalidDriveLink,
    UrlGuard,
)
from tests.fakes import FakeDrive, fake_drive_url
from tests.fakes.fake_drive import LoggedRequest

MB = 1 << 20


def fake_mp4(size: int, seed: int = 0) -> bytes:
    """Bytes that start like an mp4 (ftyp box) followed by noise."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + os.urandom(size - len(head)) if seed == 0 else head + bytes([seed]) * (size - len(head))


def fresh_requests(drive: FakeDrive, path: str) -> list[LoggedRequest]:
    """Requests on `path` without a Range header."""
    return [r for r in drive.requests_for(path) if "range" not in r.headers]


@pytest.fixture
def drive() -> Iterator[FakeDrive]:
    with FakeDrive() as fake:
        yield fake


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "dl"


def make(drive: FakeDrive, max_bytes: int = 50 * MB, **kw: object) -> DriveDownloader:
    kw.setdefault("chunk_bytes", 4096)
    kw.setdefault("retry_delay", 0.01)
    return DriveDownloader(endpoint=drive.base_url, max_bytes=max_bytes, timeout=5.0, **kw)  # type: ignore[arg-type]


async def fails(downloader: DriveDownloader, link: str, dest: Path, expected: type[DriveError]) -> DriveError:
    """Run a download that must fail with exactly `expected`, leaving no file behind (final name or .part)."""
    with pytest.raises(DriveError) as info:
        await downloader.download(link, dest)
    assert type(info.value) is expected, info.value.message
    assert listing(dest) == []
    return info.value


def listing(directory: Path) -> list[str]:
    """Names in a directory (empty when it does not exist)."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def read(path: Path) -> bytes:
    """File contents."""
    return path.read_bytes()


async def test_direct_download_with_utf8_filename(drive: FakeDrive, dest: Path) -> None:
    data = fake_mp4(100_000)
    fid = drive.new_id()
    link = drive.add_file(fid, data, "Vorlesung Ü1 – Einführung.mp4")
    seen: list[tuple[int, int | None]] = []
    result = await make(drive).download(link, dest, lambda done, total: seen.append((done, total)))
    assert result.filename == "Vorlesung Ü1 – Einführung.mp4"
    assert result.path == dest / result.filename
    assert read(result.path) == data
    assert result.size_bytes == len(data)
    assert result.content_type == "video/mp4"
    assert seen[-1] == (len(data), len(data)) and len(seen) > 1
    assert listing(dest) == [result.filename]
    (uc,) = drive.requests_for("/uc")
    assert uc.query == {"id": fid, "export": "download"}


@pytest.mark.parametrize(
    ("disposition", "name", "expected"),
    [
        ("utf8", "Série 2 — Teil 1.mp4", "Série 2 — Teil 1.mp4"),
        ("plain", 'Lecture "one".mp4', 'Lecture "one".mp4'),
        ("plain", "Lineare Algebra ä.mp4", "Lineare Algebra ä.mp4"),
        ("none", "ignored.mp4", "video.mp4"),
        ("plain", "../../etc/passwd", "_.._etc_passwd"),
        ("utf8", "..\\..\\win\x07\x1b.mp4", "_.._win.mp4"),
        ("utf8", "....", "video.mp4"),
        ("utf8", "a" * 400 + ".mp4", "a" * 176 + ".mp4"),
    ],
)
async def test_filenames(drive: FakeDrive, dest: Path, disposition: str, name: str, expected: str) -> None:
    data = fake_mp4(5000)
    link = drive.add_file(drive.new_id(), data, name, disposition=disposition)  # type: ignore[arg-type]
    result = await make(drive).download(link, dest)
    assert result.filename == expected
    assert result.path.parent == dest and read(result.path) == data


async def test_async_progress_callback(drive: FakeDrive, dest: Path) -> None:
    data = fake_mp4(20_000)
    link = drive.add_file(drive.new_id(), data)
    seen: list[int] = []

    async def progress(done: int, total: int | None) -> None:
        seen.append(done)

    await make(drive).download(link, dest, progress)
    assert seen == sorted(seen) and seen[-1] == len(data)


@pytest.fixture
def occupied(dest: Path) -> Path:
    dest.mkdir()
    (dest / "lecture.mp4").write_bytes(b"old")
    return dest


async def test_existing_file_is_not_overwritten(drive: FakeDrive, occupied: Path) -> None:
    dest = occupied
    link = drive.add_file(drive.new_id(), fake_mp4(3000))
    result = await make(drive).download(link, dest)
    assert result.filename == "lecture (2).mp4"
    assert (dest / "lecture.mp4").read_bytes() == b"old"


async def test_virus_scan_form_is_submitted(drive: FakeDrive, dest: Path) -> None:
    data = fake_mp4(60_000)
    fid = drive.new_id()
    link = drive.add_file(fid, data, "big lecture.mp4", large=True)
    result = await make(drive).download(link, dest)
    assert read(result.path) == data and result.filename == "big lecture.mp4"
    (form,) = drive.requests_for("/download")
    assert form.query["id"] == fid and form.query["confirm"] == "t" and form.query["export"] == "download"
    assert form.query["uuid"]


async def test_google_hosts_in_form_and_redirects_map_to_the_endpoint(drive: FakeDrive, dest: Path) -> None:
    data = fake_mp4(30_000)
    link = drive.add_file(drive.new_id(), data, large=True, redirect_uc=True, form_action="google")
    result = await make(drive).download(link, dest)
    assert read(result.path) == data
    assert len(drive.requests_for("/download")) == 2  # the redirect, then the confirmed form


async def test_resource_key(drive: FakeDrive, dest: Path) -> None:
    data = fake_mp4(8000)
    fid = drive.new_id()
    link = drive.add_file(fid, data, large=True, resource_key="0-key_AB")
    assert "resourcekey=0-key_AB" in link
    result = await make(drive).download(link, dest)
    assert read(result.path) == data
    assert all(r.query["resourcekey"] == "0-key_AB" for r in drive.requests)
    await fails(make(drive), drive.share_link(fid), dest / "without-key", DriveNotFound)


async def test_quota_exceeded(drive: FakeDrive, dest: Path) -> None:
    link = drive.add_quota_exceeded(drive.new_id())
    error = await fails(make(drive), link, dest, DriveQuotaExceeded)
    assert "Too many users have viewed or downloaded this file recently" in error.message


async def test_quota_exceeded_with_403(drive: FakeDrive, dest: Path) -> None:
    await fails(make(drive), drive.add_quota_exceeded(drive.new_id(), status=403), dest, DriveQuotaExceeded)


@pytest.mark.parametrize("login", ["google", "self"])
async def test_not_public(drive: FakeDrive, dest: Path, login: str) -> None:
    link = drive.add_private(drive.new_id(), login=login)  # type: ignore[arg-type]
    error = await fails(make(drive), link, dest, DriveNotPublic)
    assert "Anyone with the link" in error.message
    assert drive.requests_for("/accounts/ServiceLogin") == []


async def test_not_found(drive: FakeDrive, dest: Path) -> None:
    error = await fails(make(drive), drive.share_link(drive.new_id()), dest, DriveNotFound)
    assert "not found" in error.message


async def test_html_page_is_not_a_video(drive: FakeDrive, dest: Path) -> None:
    error = await fails(make(drive), drive.add_html(drive.new_id()), dest, DriveNotVideo)
    assert "web page" in error.message


async def test_other_drive_error_page(drive: FakeDrive, dest: Path) -> None:
    link = drive.add_error_page(drive.new_id(), "This file is in the owner's trash.")
    error = await fails(make(drive), link, dest, DriveUnavailable)
    assert "owner's trash" in error.message


@pytest.mark.parametrize(
    ("data", "ctype", "what"),
    [
        (b"<!DOCTYPE html><html><body>hello</body></html>", "text/html", "web page"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 8, "application/pdf", "PDF"),
        (b"PK\x03\x04" + bytes(range(256)) * 8, "application/zip", "ZIP"),
        (b"just some notes\n" * 100, "application/octet-stream", "text"),
        (b"", "video/mp4", "empty"),
    ],
)
async def test_downloaded_content_that_is_not_media(
    drive: FakeDrive, dest: Path, data: bytes, ctype: str, what: str
) -> None:
    link = drive.add_file(drive.new_id(), data, "lecture.mp4", content_type=ctype)
    error = await fails(make(drive), link, dest, DriveNotVideo)
    assert what in error.message


async def test_size_cap_from_content_length(drive: FakeDrive, dest: Path) -> None:
    link = drive.add_file(drive.new_id(), fake_mp4(300_000))
    error = await fails(make(drive, max_bytes=100_000), link, dest, DriveTooLarge)
    assert "limit" in error.message
    assert drive.requests_for("/uc")  # refused on the header, before the body


async def test_size_cap_while_streaming(drive: FakeDrive, dest: Path) -> None:
    link = drive.add_file(drive.new_id(), fake_mp4(300_000), chunked=True)
    await fails(make(drive, max_bytes=100_000), link, dest, DriveTooLarge)


async def test_chunked_without_length_downloads(drive: FakeDrive, dest: Path) -> None:
    data = fake_mp4(50_000)
    link = drive.add_file(drive.new_id(), data, chunked=True)
    result = await make(drive).download(link, dest)
    assert read(result.path) == data


@pytest.mark.parametrize("large", [False, True])
async def test_resume_with_correct_206(drive: FakeDrive, dest: Path, large: bool) -> None:
    data = fake_mp4(200_000)
    fid = drive.new_id()
    link = drive.add_file(fid, data, large=large)
    drive.break_next(fid, 70_000)
    result = await make(drive).download(link, dest)
    assert read(result.path) == data
    (ranged,) = drive.range_requests()
    offset = int(ranged.removeprefix("bytes=").rstrip("-"))
    assert 0 < offset <= 70_000
    assert len(fresh_requests(drive, "/uc")) == 1  # resumed at the file URL, not restarted
    if large:
        assert [r.headers.get("range") for r in drive.requests_for("/download")] == [None, ranged]


@pytest.mark.parametrize("mode", ["wrong", "ignore", "416"])
async def test_resume_not_honoured_starts_over(drive: FakeDrive, dest: Path, mode: str) -> None:
    data = fake_mp4(200_000)
    fid = drive.new_id()
    link = drive.add_file(fid, data, range_mode=mode)  # type: ignore[arg-type]
    drive.break_next(fid, 50_000)
    result = await make(drive).download(link, dest)
    assert read(result.path) == data  # never the old prefix plus a mismatched body
    assert len(drive.range_requests()) == 1
    expected_uc = 2 if mode in ("wrong", "416") else 1  # a 200 is a fresh full body, used as such
    assert len(fresh_requests(drive, "/uc")) == expected_uc


async def test_several_breaks_within_retries(drive: FakeDrive, dest: Path) -> None:
    data = fake_mp4(120_000)
    fid = drive.new_id()
    link = drive.add_file(fid, data)
    drive.break_next(fid, 20_000, times=3)
    result = await make(drive, max_retries=3).download(link, dest)
    assert read(result.path) == data
    assert len(drive.range_requests()) == 3


async def test_gives_up_after_max_retries_leaving_nothing(drive: FakeDrive, dest: Path) -> None:
    fid = drive.new_id()
    link = drive.add_file(fid, fake_mp4(120_000))
    drive.break_next(fid, 10_000, times=10)
    error = await fails(make(drive, max_retries=2), link, dest, DriveNetworkError)
    assert "3 attempts" in error.message


async def test_connection_refused_is_a_network_error(dest: Path) -> None:
    with FakeDrive() as gone:
        endpoint = gone.base_url
    downloader = DriveDownloader(endpoint, max_bytes=MB, timeout=2.0, max_retries=1, retry_delay=0.01)
    await fails(downloader, FakeDrive.share_link(FakeDrive.new_id()), dest, DriveNetworkError)


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/uc",
        "http://[::1]/uc",
        "https://evil.example.com/video.mp4",
        "file:///etc/passwd",
    ],
)
async def test_redirects_to_forbidden_hosts_are_refused(drive: FakeDrive, dest: Path, location: str) -> None:
    link = drive.add_redirect(drive.new_id(), location)
    error = await fails(make(drive), link, dest, DriveBlocked)
    assert "not allowed" in error.message


async def test_redirect_to_other_loopback_names_and_ports_is_refused(drive: FakeDrive, dest: Path) -> None:
    target = drive.new_id()
    drive.add_file(target, fake_mp4(1000))
    for location in (
        f"http://localhost:{drive.port}/uc?id={target}&export=download",
        f"http://127.0.0.2:{drive.port}/uc?id={target}&export=download",
        f"http://127.0.0.1:{drive.port + 1 if drive.port < 65535 else 1}/uc?id={target}",
    ):
        await fails(make(drive), drive.add_redirect(drive.new_id(), location), dest, DriveBlocked)


async def test_redirect_within_endpoint_and_to_google_hosts_is_followed(drive: FakeDrive, dest: Path) -> None:
    data = fake_mp4(4000)
    target = drive.new_id()
    drive.add_file(target, data)
    for location in (
        f"{drive.base_url}/download?id={target}&export=download",
        f"/download?id={target}&export=download",
        f"https://drive.usercontent.google.com/download?id={target}&export=download",
    ):
        result = await make(drive).download(drive.add_redirect(drive.new_id(), location), dest)
        assert read(result.path) == data
        result.path.unlink()


async def test_user_links_never_reach_private_addresses_without_endpoint(dest: Path) -> None:
    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    guard = UrlGuard(None, resolver=to_loopback)
    downloader = DriveDownloader(None, max_bytes=MB, timeout=2.0, guard=guard)
    await fails(downloader, FakeDrive.share_link(FakeDrive.new_id()), dest, DriveBlocked)


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUvWxYz_-0123", DriveFolderLink),
        ("https://example.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz_-0123/view", InvalidDriveLink),
        ("http://127.0.0.1/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz_-0123/view", InvalidDriveLink),
    ],
)
async def test_bad_links(drive: FakeDrive, dest: Path, link: str, expected: type[DriveError]) -> None:
    await fails(make(drive), link, dest, expected)
    assert drive.requests == []


@pytest.fixture(scope="module")
def real_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fixtures.media import counter_video

    return counter_video(tmp_path_factory.mktemp("media") / "clip.mp4", 2.0, width=160, height=90)


async def test_real_mp4_through_form_and_resume_is_probeable(
    drive: FakeDrive, dest: Path, real_mp4: Path
) -> None:
    from aiat.media import probe

    fid = drive.new_id()
    link = drive.add_file(fid, real_mp4, "Lecture 01.mp4", large=True)
    expected = read(real_mp4)
    drive.break_next(fid, len(expected) // 3)
    result = await make(drive).download(link, dest)
    assert read(result.path) == expected
    assert probe(result.path).duration > 1.5


@pytest.fixture
def fake_drive_process(real_mp4: Path) -> Iterator[tuple[str, str]]:
    """`python -m tests.fakes.fake_drive` serving the real mp4 behind the form: (base URL, file id)."""
    fid = FakeDrive.new_id()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_drive", "--large", f"{fid}={real_mp4}"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        yield base_url, fid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_fake_drive_from_another_process(
    dest: Path, real_mp4: Path, fake_drive_process: tuple[str, str]
) -> None:
    base_url, fid = fake_drive_process
    result = await DriveDownloader(base_url, max_bytes=50 * MB, timeout=5.0).download(
        FakeDrive.share_link(fid), dest
    )
    assert result.filename == "clip.mp4" and read(result.path) == read(real_mp4)


async def test_fake_drive_url_helper(dest: Path) -> None:
    fid = FakeDrive.new_id()
    data = fake_mp4(2000)
    with fake_drive_url({fid: data}) as base_url:
        result = await DriveDownloader(base_url, max_bytes=MB, timeout=5.0).download(
            f"https://drive.google.com/open?id={fid}", dest
        )
    assert read(result.path) == data


async def test_server_errors_are_retried_then_reported(drive: FakeDrive, dest: Path) -> None:
    fid = drive.new_id()
    error = await fails(make(drive, max_retries=2), drive.add_html(fid, status=503), dest, DriveNetworkError)
    assert "HTTP 503" in error.message
    assert len(drive.requests_for("/uc")) == 3
