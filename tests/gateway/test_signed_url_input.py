"""Hostile signed-URL parameters get 401, never 500; HEAD works with a signed URL (real app, keys on)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiat.nats_server import NatsServer
from aiat_gateway.api.app import create_app
from aiat_gateway.api.auth import Access
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.db.models import LectureSession, Status
from tests.gateway.conftest import make_settings

KEY = "signed-url-tests-key-0123456789abcdef"
VIDEO = bytes(range(256)) * 8


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, Access, str]]:
    """The app with keys on (the client sends none) and a session whose video is stored; its media path."""
    url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
    upgrade(url)
    with NatsServer(tmp_path / "nats") as nats:
        app = create_app(make_settings(tmp_path, url, nats.url, api_keys=KEY))
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
            video.write_bytes(VIDEO)
            row.media_path = state.store.relative(video)
            db.commit()
            path = f"/api/v1/sessions/{row.id}/media"
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, state.access, path


@pytest.mark.parametrize(
    ("exp", "sig"),
    [
        ("²", "x"),  # str.isdigit() is true, int() raises
        ("١٢٣", "0" * 64),  # Arabic-Indic digits
        ("+60", "0" * 64),
        (None, "é"),  # a fresh expiry with a non-ASCII signature: compare_digest raises TypeError
        (None, "é" * 64),
        (None, "0" * 63),
        (None, "G" * 64),
        (None, ""),
    ],
)
def test_hostile_expiry_or_signature_is_401(
    app_client: tuple[TestClient, Access, str], exp: str | None, sig: str
) -> None:
    client, _, path = app_client
    got = client.get(path, params={"exp": exp or str(int(time.time()) + 60), "sig": sig})
    assert got.status_code == 401, got.text


def test_head_with_a_signed_url_answers_like_get(app_client: tuple[TestClient, Access, str]) -> None:
    client, access, path = app_client
    expires, sig = access.sign_media(path)
    head = client.head(f"{path}?exp={expires}&sig={sig}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(VIDEO)) and head.headers["content-type"] == "video/mp4"
    assert client.head(path).status_code == 401  # still no entry without a key or signature
    assert client.head(f"{path}?exp={expires}&sig={'0' * 64}").status_code == 401
    for other in ("/api/v1/snippets/1/download", "/output/1/snippets/1_x.mp4"):
        expires, sig = access.sign_media(other)
        assert client.head(f"{other}?exp={expires}&sig={sig}").status_code == 404  # let in; no such file
