"""POST /upload-file: streamed to the store, limited, sniffed and whitelisted, deduplicated; the worker adopts it."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from aiat.nats_server import NatsServer
from aiat.store import MediaStore
from aiat_gateway.api.app import create_app
from aiat_gateway.db.models import Status
from aiat_gateway.settings import GatewaySettings
from tests.fixtures.media import counter_video
from tests.gateway.conftest import API_KEY, Gateway, make_settings
from tests.gateway.test_worker import RunningWorker, fast, session_row, wait_for


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s H.264/AAC mp4 (about 0.5 MB: larger than the small JSON body limit below)."""
    return counter_video(tmp_path_factory.mktemp("media") / "lecture one.mp4", 2.0)


def upload_gateway(tmp_path: Path, database_url: str, **extra: object) -> Generator[Gateway, None, None]:
    with NatsServer(tmp_path / "nats") as nats:
        values: dict[str, object] = {"api_keys": API_KEY, "rate_limit": "10000/minute", **extra}
        settings = make_settings(tmp_path, database_url, nats.url, **values)
        app = create_app(settings)
        with TestClient(app, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
            yield Gateway(client, settings, app.state.aiat, nats)


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[Gateway]:
    """A gateway whose JSON body limit (4 KiB) is far below the files uploaded here."""
    yield from upload_gateway(tmp_path, database_url, api_max_body_bytes=4096, upload_max_bytes=1_000_000)


def post(gw: Gateway, data: bytes, filename: str = "lecture.mp4", **form: str) -> tuple[int, dict]:
    fields = {"name": "Lecture 1", "module": "Physics", **form}
    r = gw.client.post("/api/v1/upload-file", data=fields, files={"file": (filename, data, "video/mp4")})
    return r.status_code, r.json()


def staged(gw: Gateway) -> list[Path]:
    """Files left in the staging directory (none after any answer)."""
    root = MediaStore(gw.settings.media_root).resolve("uploads")
    return list(root.iterdir()) if root.exists() else []


def test_upload_creates_a_session_with_the_file_in_place_and_dedups_by_content(
    gateway: Gateway, video: Path
) -> None:
    data = video.read_bytes()
    assert len(data) > gateway.settings.api_max_body_bytes  # the JSON limit does not apply here
    code, body = post(gateway, data, filename="../../etc/lecture one.mp4")
    assert code == 200, body
    digest = hashlib.sha256(data).hexdigest()
    assert body["job_status"] == "Pending"
    assert body["content_sha256"] == digest
    assert body["drive_link"] == f"upload:sha256:{digest}"
    row = session_row(gateway.settings, body["id"])
    assert row.source_filename == "lecture one.mp4"  # no directory part survives
    placed = MediaStore(gateway.settings.media_root).resolve(f"sessions/{body['id']}/source/lecture one.mp4")
    assert placed.read_bytes() == data
    # The same bytes under another name and title are the same lecture.
    code, again = post(gateway, data, filename="copy.mp4", name="Other title")
    assert code == 400 and f"session {body['id']}" in again["detail"]
    assert staged(gateway) == []
    assert len(gateway.client.get("/api/v1/sessions").json()) == 1


def test_a_file_over_the_upload_limit_is_refused_with_413_and_nothing_kept(
    gateway: Gateway, video: Path
) -> None:
    big = video.read_bytes() * 3  # past 1 000 000 bytes
    code, body = post(gateway, big)
    assert code == 413 and "limit" in body["detail"]
    assert staged(gateway) == []
    # Decided while streaming too: a body that does not declare its length.
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nL\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
    ).encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for i in range(0, len(big), 16384):
            yield big[i : i + 16384]
        yield f"\r\n--{boundary}--\r\n".encode()

    r = gateway.client.post(
        "/api/v1/upload-file",
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413, r.text
    assert staged(gateway) == []


def bmp_image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(out, "BMP")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10,\nfile:///etc/passwd\n" * 20, "text file"),
        (b"%PDF-1.7 " + bytes(5000), "pdf"),
        (bmp_image(), "not a readable video"),  # passes sniffing, refused by the demuxer whitelist
        (b"", "empty"),
    ],
    ids=["playlist", "pdf", "image-container", "empty"],
)
def test_what_is_not_an_accepted_video_is_refused_with_415(
    gateway: Gateway, content: bytes, needle: str
) -> None:
    code, body = post(gateway, content)
    assert code == 415, body
    assert needle in body["detail"].lower()
    assert staged(gateway) == []
    assert gateway.client.get("/api/v1/sessions").json() == []


def test_malformed_forms_get_a_clear_4xx(gateway: Gateway, video: Path) -> None:
    c = gateway.client
    r = c.post("/api/v1/upload-file", json={"name": "x"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
    r = c.post("/api/v1/upload-file", data={"name": "x"}, files={"other": ("a.txt", b"x")})
    assert r.status_code == 400 and "'file'" in r.json()["detail"]
    code, body = post(gateway, video.read_bytes(), name="  ")
    assert code == 422 and "name" in body["detail"]
    assert staged(gateway) == []


def test_upload_takes_vocabulary_language_and_model(gateway: Gateway, video: Path) -> None:
    fields = {
        "name": "Lecture 1",
        # One term per line, and the part repeated: both add terms (cleaned like the JSON upload's).
        "vocabulary": ["Schrödinger\n eigen  value \n\nSchrödinger", "Hamiltonian"],
        "language": "de",
        "model": "multilingual",
    }
    r = gateway.client.post("/api/v1/upload-file", data=fields, files={"file": ("a.mp4", video.read_bytes())})
    assert r.status_code == 200, r.text
    assert r.json()["vocabulary"] == ["Schrödinger", "eigen value", "Hamiltonian"]
    row = session_row(gateway.settings, r.json()["id"])
    assert (row.requested_language, row.transcriber_model) == ("de", "multilingual")


@pytest.mark.parametrize(
    "form", [{"language": "xx"}, {"language": "German"}, {"model": "large-v3"}, {"vocabulary": "x" * 501}]
)
def test_upload_refuses_unknown_transcription_settings(
    gateway: Gateway, video: Path, form: dict[str, str]
) -> None:
    code, body = post(gateway, video.read_bytes(), **form)
    assert code == 422, body
    assert gateway.client.get("/api/v1/sessions").json() == [] and staged(gateway) == []


def test_uploads_are_rate_limited_like_other_work(tmp_path: Path, database_url: str, video: Path) -> None:
    gen = upload_gateway(tmp_path, database_url, rate_limit="1/minute")
    gw = next(gen)
    try:
        assert post(gw, video.read_bytes())[0] == 200
        code, body = post(gw, video.read_bytes() + b"\x00")
        assert code == 429, body
    finally:
        gen.close()


def worker_settings(gw: Gateway) -> GatewaySettings:
    # No Drive at all: a download attempt would fail the session with a Drive error.
    return fast(gw.settings).model_copy(update={"drive_endpoint": "http://127.0.0.1:9"})


async def test_the_worker_adopts_the_uploaded_file_instead_of_downloading(
    gateway: Gateway, video: Path
) -> None:
    data = await asyncio.to_thread(video.read_bytes)
    _code, body = await asyncio.to_thread(post, gateway, data)
    settings = worker_settings(gateway)
    async with RunningWorker(settings):
        await wait_for(lambda: session_row(settings, body["id"]).media_path is not None)
    row = session_row(settings, body["id"])
    assert row.media_path == f"sessions/{body['id']}/source/lecture.mp4"
    assert row.media_duration == pytest.approx(2.0, abs=0.1)
    assert "drive" not in (row.error_message or "").lower()


async def test_an_uploaded_session_whose_file_vanished_fails_clearly(gateway: Gateway, video: Path) -> None:
    data = await asyncio.to_thread(video.read_bytes)
    _code, body = await asyncio.to_thread(post, gateway, data)
    store = MediaStore(gateway.settings.media_root)
    store.resolve(f"sessions/{body['id']}/source/lecture.mp4").unlink()
    settings = worker_settings(gateway)
    async with RunningWorker(settings):
        await wait_for(lambda: session_row(settings, body["id"]).job_status == Status.FAILED)
    message = session_row(settings, body["id"]).error_message or ""
    assert "uploaded file" in message and "upload it again" in message, message
