"""Access control of the REST API: API keys on every /api/v1 and /output route, open health, rate limits."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.api.app import create_app
from aiat_gateway.api.auth import AccessConfigError, access_from_settings, is_loopback
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.settings import GatewaySettings
from tests.gateway import seed
from tests.gateway.conftest import make_settings

KEY_A = "key-a-0123456789abcdef0123456789abcdef"
KEY_B = "key-b-fedcba9876543210fedcba9876543210"
WRONG = "key-a-0123456789abcdef0123456789abcdeX"  # same length, one character off
PROTECTED = ("/api/v1/", "/output/")
# A value for every path parameter of the API; a route with a new parameter fails the test until added here.
PATH_VALUES = {"session_id": "1", "snippet_id": "1", "task_id": "abc", "filename": "x.mp4"}

MakeClient = Callable[..., TestClient]


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def make_client(tmp_path: Path, nats_url: str) -> Iterator[MakeClient]:
    """A TestClient on a real gateway app (SQLite, real NATS) with the given settings."""
    url = f"sqlite:///{(tmp_path / 'aiat.db').as_posix()}"
    upgrade(url)
    clients: list[TestClient] = []

    def make(**extra: object) -> TestClient:
        client = TestClient(create_app(make_settings(tmp_path, url, nats_url, **extra)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every route the app serves, from its own route table (the OpenAPI schema)."""
    out = []
    for template, operations in app.openapi()["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], template)
        out += [(method.upper(), path) for method in operations]
    return out


def protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = [r for r in routes(app) if r[1].startswith(PROTECTED)]
    assert len(found) >= 11, found  # the contract's endpoints at least
    return found


def send(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    body: dict[str, str] | None = {} if method in ("POST", "PATCH", "PUT") else None
    return client.request(method, path, json=body, headers=headers or {}).status_code


def test_every_api_and_output_route_needs_a_key(make_client: MakeClient) -> None:
    client = make_client(api_keys=KEY_A)
    app = client.app
    assert isinstance(app, FastAPI)
    for method, path in protected_routes(app):
        resp = client.request(method, path, json={} if method != "GET" else None)
        assert resp.status_code == 401, (method, path, resp.status_code)
        assert resp.headers["www-authenticate"] == "Bearer"
        assert "API key" in resp.json()["detail"]
        for headers in (
            {"Authorization": f"Bearer {WRONG}"},
            {"X-API-Key": WRONG},
            {"Authorization": f"Basic {KEY_A}"},
            {"Authorization": f"Bearer {KEY_A[:-1]}"},
            {"X-API-Key": KEY_A + "x"},
        ):
            assert send(client, method, path, headers) == 401, (method, path, headers)


def test_each_header_form_lets_the_request_in(make_client: MakeClient) -> None:
    client = make_client(api_keys=f"{KEY_A},{KEY_B}", rate_limit="")
    app = client.app
    assert isinstance(app, FastAPI)
    for key in (KEY_A, KEY_B):
        for headers in (
            {"Authorization": f"Bearer {key}"},
            {"authorization": f"bearer {key}"},
            {"X-API-Key": key},
        ):
            for method, path in protected_routes(app):
                assert send(client, method, path, headers) not in (401, 403), (method, path, headers)
            assert client.get("/api/v1/sessions", headers=headers).status_code == 200


def test_health_metrics_and_docs_stay_open(make_client: MakeClient) -> None:
    client = make_client(api_keys=KEY_A)
    app = client.app
    assert isinstance(app, FastAPI)
    open_routes = [r for r in routes(app) if not r[1].startswith(PROTECTED)]
    assert {("GET", "/healthz"), ("GET", "/readyz")} <= set(open_routes)
    for method, path in open_routes:
        assert send(client, method, path) != 401, path
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503  # engines down in this test: answered, not refused
    assert client.get("/metrics").status_code != 401


def test_readyz_failure_reveals_no_internals(tmp_path: Path, nats_url: str) -> None:
    """A database and engines that are down: /readyz names them, without addresses, passwords or exception text."""
    closed = free_port()
    password = "Readyz-Secret-Pw-41"
    settings = make_settings(
        tmp_path, f"postgresql://aiat:{password}@127.0.0.1:{closed}/aiat", nats_url, api_keys=KEY_A
    )
    with TestClient(create_app(settings)) as client:
        resp = client.get("/readyz")
    assert resp.status_code == 503
    body = resp.json()
    assert set(body["failing"]) == {"database", "transcriber", "analyzer", "renderer"}
    for value in body["checks"].values():
        assert re.fullmatch(r"ok|SERVING|[A-Z_]+|error: [a-z ]+", value), value
    text = resp.text
    for secret in (password, "127.0.0.1", str(closed), settings.transcriber_addr.rsplit(":", 1)[1], "Error"):
        assert secret not in text, secret


def test_keys_file(tmp_path: Path, make_client: MakeClient) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# rotated 2025-01\n\n  {KEY_A}  \n# {KEY_B}\n")
    client = make_client(api_keys_file=keys)
    assert client.get("/api/v1/sessions", headers={"X-API-Key": KEY_A}).status_code == 200
    assert client.get("/api/v1/sessions", headers={"X-API-Key": KEY_B}).status_code == 401  # commented out


def test_unusable_key_configuration_refuses_without_echoing_the_key(tmp_path: Path) -> None:
    def settings(**extra: object) -> GatewaySettings:
        return GatewaySettings.model_validate({"data_dir": tmp_path, **extra})

    with pytest.raises(AccessConfigError, match="cannot be read"):
        access_from_settings(settings(api_keys_file=tmp_path / "missing"))
    for weak in ("short-key", "has a space in the middle", "tab\tseparated-key-0123456"):
        with pytest.raises(AccessConfigError, match="unusable") as err:
            access_from_settings(settings(api_keys=f"{KEY_A},{weak}"))
        assert weak not in str(err.value) and KEY_A not in str(err.value)
    with pytest.raises(AccessConfigError, match="both set"):
        access_from_settings(settings(api_keys=KEY_A, auth_disabled=True))
    empty = tmp_path / "empty"
    empty.write_text("# no keys yet\n")
    with pytest.raises(AccessConfigError, match="refusing"):
        access_from_settings(settings(api_keys_file=empty, http_host="0.0.0.0"))
    with pytest.raises(AccessConfigError, match="without AIAT_MEDIA_URL_SECRET"):
        access_from_settings(settings(api_keys=KEY_A, http_host="0.0.0.0"))
    shared = access_from_settings(settings(api_keys=KEY_A, http_host="0.0.0.0", media_url_secret="s" * 64))
    assert shared.media_secret == b"s" * 64  # the same on every replica
    assert access_from_settings(settings(api_keys=KEY_A)).media_secret  # loopback: one process, a random one


def test_every_configured_key_is_compared_in_constant_time(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(api_keys=f"{KEY_A},{KEY_B},third-key-0000000000000000")
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    for key, status in ((KEY_A, 200), (KEY_B, 200), (WRONG, 401)):
        calls.clear()
        assert client.get("/api/v1/sessions", headers={"X-API-Key": key}).status_code == status
        assert len(calls) == 3, key  # no early exit on the first match, no plain ==


def test_keys_are_never_logged(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(api_keys=KEY_A)
    for headers in ({"X-API-Key": KEY_A}, {"Authorization": f"Bearer {KEY_A}"}, {"X-API-Key": WRONG}):
        client.get("/api/v1/sessions", headers=headers)
    with pytest.raises(AccessConfigError):
        access_from_settings(GatewaySettings(api_keys=f"{KEY_A},short"))
    assert KEY_A not in caplog.text and WRONG not in caplog.text
    assert KEY_A not in repr(GatewaySettings(api_keys=KEY_A))


def test_openapi_declares_the_key_schemes_only_when_keys_are_on(make_client: MakeClient) -> None:
    schema = make_client(api_keys=KEY_A).get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["HTTPBearer"]["description"],
    }
    assert schemes["APIKeyHeader"]["in"] == "header" and schemes["APIKeyHeader"]["name"] == "X-API-Key"
    for path, ops in schema["paths"].items():
        for op in ops.values():
            if path.startswith(PROTECTED):
                assert {"HTTPBearer": []} in op["security"] and {"APIKeyHeader": []} in op["security"], path
                assert "401" in op["responses"], path
            else:
                assert "security" not in op, path
    open_schema = make_client().get("/openapi.json").json()
    assert "securitySchemes" not in open_schema.get("components", {})


def upload(client: TestClient, n: int, headers: dict[str, str]) -> int:
    body = {"name": f"L{n}", "drive_link": seed.LINK.format(seed.file_id(n))}
    return client.post("/api/v1/upload-session", json=body, headers=headers).status_code


def test_work_endpoints_are_rate_limited_per_key(make_client: MakeClient) -> None:
    client = make_client(api_keys=f"{KEY_A},{KEY_B}", rate_limit="3/minute")
    a, b = {"X-API-Key": KEY_A}, {"Authorization": f"Bearer {KEY_B}"}
    assert [upload(client, n, a) for n in (1, 2, 3)] == [200, 200, 200]
    for path in ("/api/v1/upload-session", "/api/v1/snippets/1/process", "/api/v1/sessions/1/retry"):
        body = {"name": "L", "drive_link": seed.LINK.format(seed.file_id(9))} if "upload" in path else None
        resp = client.post(path, json=body, headers=a)
        assert resp.status_code == 429, (path, resp.text)
        assert 1 <= int(resp.headers["retry-after"]) <= 60
        assert "rate limit" in resp.json()["detail"]
    # Another key has its own budget; reads are not limited.
    assert upload(client, 4, b) == 200
    assert client.post("/api/v1/sessions/1/retry", headers=b).status_code != 429
    assert client.get("/api/v1/sessions", headers=a).status_code == 200


def test_open_api_is_rate_limited_per_client_address(make_client: MakeClient) -> None:
    client = make_client(rate_limit="2/minute")
    assert [upload(client, n, {}) for n in (1, 2, 3)] == [200, 200, 429]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("", False),
        ("gateway.example.org", False),
        ("localhost.example.org", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
