"""Streams hold no API slot: slow readers of a download and stalled uploads leave the API answering.

The real gateway app on a real uvicorn server, driven with raw sockets that read or send slowly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.api.app import create_app
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.db.models import LectureSession, Status
from tests.gateway.conftest import make_settings

SLOTS = 3
VIDEO_BYTES = 64 * 1024**2  # far more than the socket buffers take in
READ_TIMEOUT = 1.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The gateway (3 slots, 2 upload slots, 1 s body read deadline) serving a session with a 64 MiB video."""
    url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
    upgrade(url)
    with NatsServer(tmp_path / "nats") as nats:
        settings = make_settings(
            tmp_path,
            url,
            nats.url,
            api_max_in_flight=SLOTS,
            api_max_queued=5,
            api_queue_wait_seconds=0.5,
            api_max_uploads=2,
            upload_read_timeout_seconds=READ_TIMEOUT,
            rate_limit="",
        )
        app = create_app(settings)
        state = app.state.aiat
        with state.session_factory() as db:
            row = LectureSession(
                name="Lecture",
                drive_link="https://drive.google.com/file/d/x",
                drive_file_id="x" * 30,
                job_status=Status.FINISHED,
                job_id="j",
            )
            db.add(row)
            db.commit()
            video = state.store.root / "sessions" / str(row.id) / "source" / "lecture.mp4"
            video.parent.mkdir(parents=True)
            with video.open("wb") as out:
                out.truncate(VIDEO_BYTES)
            row.media_path = state.store.relative(video)
            db.commit()
            session_id = row.id
        uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
        thread = threading.Thread(target=lambda: asyncio.run(uv.serve()), daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not uv.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{uv.config.port}", session_id
        finally:
            uv.should_exit = True
            thread.join(15)


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.settimeout(10)
    sock.connect((host, int(port)))
    return sock


def _fast_get(base: str) -> tuple[int, float]:
    started = time.monotonic()
    status = httpx.get(f"{base}/api/v1/sessions", timeout=5).status_code
    return status, time.monotonic() - started


def test_slow_readers_of_a_download_leave_the_api_answering(server: tuple[str, int]) -> None:
    base, sid = server
    readers = []
    try:
        for _ in range(SLOTS * 3):
            sock = _connect(base)
            sock.sendall(f"GET /api/v1/sessions/{sid}/media HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            assert sock.recv(1024).startswith(b"HTTP/1.1 200"), "the download did not start"
            readers.append(sock)  # and now reads nothing more: the server blocks on a full socket
        time.sleep(0.5)
        for _ in range(5):
            status, took = _fast_get(base)
            assert status == 200 and took < 1.0, (status, took)
        # The readers still get their bytes when they read (slowly, a little at a time).
        assert len(readers[0].recv(65536)) > 0
    finally:
        for sock in readers:
            sock.close()


def _stalled_upload(base: str, path: str, content_type: str) -> socket.socket:
    """A request whose body starts and then stops."""
    sock = _connect(base)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: 1000000\r\n\r\n".encode()
        + b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx'
    )
    return sock


def test_stalled_uploads_take_no_api_slot_and_time_out_with_408(server: tuple[str, int]) -> None:
    base, _ = server
    stalled = [
        _stalled_upload(base, "/api/v1/upload-file", "multipart/form-data; boundary=b") for _ in range(2)
    ]
    stalled.append(_stalled_upload(base, "/api/v1/upload-session", "application/json"))
    try:
        time.sleep(0.3)
        status, took = _fast_get(base)
        assert status == 200 and took < 1.0, (status, took)
        # The upload slots are taken: a third upload is refused at once rather than queued.
        third = httpx.post(f"{base}/api/v1/upload-file", content=b"x", timeout=5)
        assert third.status_code == 503 and "retry-after" in third.headers
        started = time.monotonic()
        for sock in stalled:
            answer = b""
            with contextlib.suppress(ConnectionError):
                while chunk := sock.recv(4096):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < READ_TIMEOUT + 3
        # The slots came back.
        assert httpx.post(f"{base}/api/v1/upload-file", content=b"x", timeout=5).status_code != 503
    finally:
        for sock in stalled:
            sock.close()
