"""Schemathesis fuzzes the whole REST API from its own OpenAPI schema: no 5xx, every response as documented.

Three modes: open (loopback, no keys), keys configured and sent, keys configured and not sent. Seeded
(derandomized) and bounded, so a run is reproducible and takes seconds per database.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction, not_a_server_error

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.api.app import create_app
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.plans import PlanEntry
from aiat_gateway.settings import GatewaySettings
from tests.conftest import _drop_postgres_db, _fresh_postgres_db
from tests.gateway import seed
from tests.gateway.conftest import make_settings

KEY = "fuzz-key-0123456789abcdefghij"
EXAMPLES = 20
# Rate limits are tested on their own; here they would only turn handler coverage into 429s.
NO_LIMIT = {"rate_limit": ""}

fuzz_settings = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# Schema-valid values the API rejects on purpose (a link that is not Drive's, a limit over the setting) are
# not failures; a schema-violating body too large to read is rejected with 413 before it is parsed, and an
# upload that is not multipart/form-data (no body at all, say) with 415.
CHECKS = {
    "positive_data_acceptance": {"enabled": False},
    "negative_data_rejection": {
        "expected-statuses": ["400", "401", "404", "409", "413", "415", "422", "429"]
    },
}


def _load_schema(**extra: object) -> schemathesis.BaseSchema:
    """The gateway's OpenAPI schema, from an app that is built but never started."""
    with tempfile.TemporaryDirectory() as tmp:
        values = {"data_dir": Path(tmp), "database_url": f"sqlite:///{tmp}/schema.db", **extra}
        app = create_app(GatewaySettings.model_validate(values))
        config = schemathesis.Config.from_dict({"checks": CHECKS})
        return schemathesis.openapi.from_dict(app.openapi(), config=config)


open_schema = _load_schema()
keyed_schema = _load_schema(api_keys=KEY)


@dataclass
class Served:
    """A gateway answering on a loopback port."""

    base_url: str
    headers: dict[str, str]


def _serve_with_a_finished_session(
    tmp_path: Path, database_url: str, headers: dict[str, str], **extra: object
) -> Iterator[Served]:
    """A real uvicorn gateway with one finished session and its plan, so generated ids can hit real rows."""
    with NatsServer(tmp_path / "nats") as nats:
        app = create_app(make_settings(tmp_path, database_url, nats.url, **NO_LIMIT, **extra))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 15
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.02)
            base_url = f"http://127.0.0.1:{server.config.port}"
            created = httpx.post(
                f"{base_url}/api/v1/upload-session",
                json={"name": "Fuzzed", "drive_link": seed.LINK.format(seed.file_id(len(headers)))},
                headers=headers,
            )
            assert created.status_code == 200, created.text
            seed.finish(
                app.state.aiat,
                created.json()["id"],
                [
                    PlanEntry(name="First", start=1.0, end=12.0),
                    PlanEntry(name="Second", start=20.0, end=40.0),
                ],
            )
            yield Served(base_url, headers)
        finally:
            server.should_exit = True
            thread.join(15)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One migrated database per module run: the fuzzed gateways share it, their rows pile up as in use."""
    if request.param == "sqlite":
        url = f"sqlite:///{(tmp_path_factory.mktemp('fuzzdb') / 'aiat.db').as_posix()}"
        upgrade(url)
        yield url
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    url, name = _fresh_postgres_db(server_url)
    upgrade(url)
    try:
        yield url
    finally:
        _drop_postgres_db(server_url, name)


@pytest.fixture(scope="module")
def open_gateway(fuzz_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Loopback without keys: the API is open."""
    yield from _serve_with_a_finished_session(tmp_path_factory.mktemp("open"), fuzz_database_url, {})


@pytest.fixture(scope="module")
def keyed_gateway(fuzz_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """API keys configured."""
    yield from _serve_with_a_finished_session(
        tmp_path_factory.mktemp("keyed"), fuzz_database_url, {"Authorization": f"Bearer {KEY}"}, api_keys=KEY
    )


def call_and_check(case: Case, served: Served, headers: dict[str, str] | None = None) -> int:
    """Send the case over HTTP and run every schemathesis check on the answer."""
    excluded: list[CheckFunction] = [not_a_server_error] if case.operation.path == "/readyz" else []
    response = case.call_and_validate(base_url=served.base_url, headers=headers, excluded_checks=excluded)
    return response.status_code


@open_schema.parametrize()
@fuzz_settings
def test_open_api(case: Case, open_gateway: Served) -> None:
    call_and_check(case, open_gateway)


@keyed_schema.parametrize()
@fuzz_settings
def test_keyed_api_with_the_key(case: Case, keyed_gateway: Served) -> None:
    call_and_check(case, keyed_gateway, keyed_gateway.headers)


@keyed_schema.parametrize()
@fuzz_settings
def test_keyed_api_without_a_key(case: Case, keyed_gateway: Served) -> None:
    for name in ("authorization", "x-api-key"):
        if case.headers is not None:
            case.headers.pop(name, None)  # case-insensitive
    status = call_and_check(case, keyed_gateway)
    if case.operation.path.startswith(("/api/", "/output/")) and case.method == case.operation.method.upper():
        # A body that cannot be read at all is refused before the key is looked at (413 too large, 400 or 422
        # not JSON), which reveals nothing; anything that reaches a handler needs the key.
        assert status in (400, 401, 413, 422), f"{case.operation.label} answered {status} without a key"
