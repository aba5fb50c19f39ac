"""The studio's static files and signed media URLs, through the real app (keys on)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiat.nats_server import NatsServer
from aiat_gateway.api.app import create_app
from aiat_gateway.api.auth import Access
from aiat_gateway.db.models import LectureSession, Status
from tests.gateway.conftest import make_settings

KEY = "studio-tests-key-0123456789abcdef"
VIDEO = bytes(range(256)) * 40  # any bytes: the route serves the file as it is


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One NATS server for the module."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def app_client(tmp_path: Path, nats: NatsServer) -> Iterator[tuple[TestClient, Access, int]]:
    """The app with keys on (client sends none), and a Finished session whose source video is stored."""
    url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
    from aiat_gateway.db.migrate import upgrade

    upgrade(url)
    settings = make_settings(tmp_path, url, nats.url, api_keys=KEY, media_url_ttl_seconds=600)
    app = create_app(settings)
    state = app.state.aiat
    with state.session_factory() as db:
        row = LectureSession(
            name="Lecture",
            drive_link="https://drive.google.com/file/d/x",
            drive_file_id="x" * 30,
            job_status=Status.FINISHED,
            job_id="j",
            media_duration=10.0,
        )
        db.add(row)
        db.commit()
        session_id = row.id
        path = state.store.root / "sessions" / str(session_id) / "source" / "lecture.mp4"
        path.parent.mkdir(parents=True)
        path.write_bytes(VIDEO)
        row.media_path = state.store.relative(path)
        db.commit()
    with TestClient(app) as client:
        yield client, state.access, session_id


AUTH = {"Authorization": f"Bearer {KEY}"}


def test_page_and_modules_are_served_with_types_and_cache_headers(
    app_client: tuple[TestClient, Access, int],
) -> None:
    client, _, _ = app_client
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/studio/app.js">' in page.text
    assert page.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "api.js", "session.js", "sessions.js", "plan.js", "transcript.js", "util.js"):
        module = client.get(f"/studio/{name}")
        assert module.status_code == 200, name
        assert module.headers["content-type"] == "text/javascript; charset=utf-8"
        assert (
            module.headers["cache-control"] == "no-cache"
            and module.headers["x-content-type-options"] == "nosniff"
        )
        again = client.get(f"/studio/{name}", headers={"If-None-Match": module.headers["etag"]})
        assert again.status_code == 304
    assert client.get("/studio/style.css").headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/studio/missing.js").status_code == 404


def test_the_page_shadows_no_api_route(app_client: tuple[TestClient, Access, int]) -> None:
    client, _, _ = app_client
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/api/v1/media-urls"]
    assert client.get("/docs").status_code == 200
    missing = client.get("/api/v1/no-such-route", headers=AUTH)
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    assert client.get("/api/v1/sessions").status_code == 401  # still guarded
    assert client.get("/output/1/snippets/a.mp4").status_code == 401


def test_source_video_is_range_served_with_a_key(app_client: tuple[TestClient, Access, int]) -> None:
    client, _, sid = app_client
    assert client.get(f"/api/v1/sessions/{sid}/media").status_code == 401
    whole = client.get(f"/api/v1/sessions/{sid}/media", headers=AUTH)
    assert (
        whole.status_code == 200 and whole.content == VIDEO and whole.headers["content-type"] == "video/mp4"
    )
    part = client.get(f"/api/v1/sessions/{sid}/media", headers={**AUTH, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == VIDEO[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(VIDEO)}"
    assert client.get("/api/v1/sessions/999/media", headers=AUTH).status_code == 404


def test_signed_url_opens_that_media_path_only(app_client: tuple[TestClient, Access, int]) -> None:
    client, _, sid = app_client
    path = f"/api/v1/sessions/{sid}/media"
    assert client.post("/api/v1/media-urls", json={"paths": [path]}).status_code == 401  # needs a key
    issued = client.post("/api/v1/media-urls", json={"paths": [path]}, headers=AUTH)
    assert issued.status_code == 200, issued.text
    url = issued.json()["urls"][path]
    assert url.startswith(path + "?exp=")
    got = client.get(url, headers={"Range": "bytes=0-9"})  # no key: the signature lets it in
    assert got.status_code == 206 and got.content == VIDEO[:10]
    query = url.split("?", 1)[1]
    # The same signature on another path, another method, or altered: refused.
    assert client.get(f"/api/v1/sessions/{sid}/results?{query}").status_code == 401
    assert client.get(f"/api/v1/sessions/{sid + 1}/media?{query}").status_code == 401
    assert client.post(f"{path}?{query}").status_code in (401, 405)
    assert client.get(url[:-1] + ("0" if url[-1] != "0" else "1")).status_code == 401
    assert client.get(path + "?exp=99999999999&sig=" + query.rsplit("sig=", 1)[1]).status_code == 401


def test_signed_url_expires_and_cannot_outlive_an_hour(app_client: tuple[TestClient, Access, int]) -> None:
    client, access, sid = app_client
    path = f"/api/v1/sessions/{sid}/media"
    expires, sig = access.sign_media(path, now=time.time() - 601)  # issued 601 s ago, ttl 600 s
    assert client.get(f"{path}?exp={expires}&sig={sig}").status_code == 401
    far = int(time.time()) + 7200  # validly signed but two hours ahead: a secret leak must not mint long URLs
    assert client.get(f"{path}?exp={far}&sig={access._media_sig(path, far)}").status_code == 401
    fresh, sig = access.sign_media(path)
    assert client.get(f"{path}?exp={fresh}&sig={sig}").status_code == 200
    # Even a valid signature opens no other kind of path (the secret signs media, nothing else).
    results = f"/api/v1/sessions/{sid}/results"
    fresh, sig = access.sign_media(results)
    assert client.get(f"{results}?exp={fresh}&sig={sig}").status_code == 401


def test_only_media_paths_are_signed(app_client: tuple[TestClient, Access, int]) -> None:
    client, _, sid = app_client
    for path in (f"/api/v1/sessions/{sid}/results", "/api/v1/sessions", "/output/1/snippets/../x", "/"):
        out = client.post("/api/v1/media-urls", json={"paths": [path]}, headers=AUTH)
        assert out.status_code == 422 and "not a media path" in out.json()["detail"], path
    names = ["/api/v1/snippets/3/download", "/output/4/snippets/1)_Intro talk.srt"]
    urls = client.post("/api/v1/media-urls", json={"paths": names}, headers=AUTH).json()["urls"]
    assert urls[names[1]].startswith("/output/4/snippets/1%29_Intro%20talk.srt?exp=")
    # The encoded URL verifies against the decoded path the server sees (404: the file does not exist).
    assert client.get(urls[names[1]]).status_code == 404
