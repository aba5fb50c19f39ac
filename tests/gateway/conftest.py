"""Gateway fixtures: the real app (FastAPI test client) on a real DB and a real NATS server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway.api.app import create_app
from aiat_gateway.api.deps import AppState
from aiat_gateway.settings import GatewaySettings

# The contract tests run with API keys on, as a deployment does; the limit is out of their way.
API_KEY = "contract-tests-key-0123456789abcdef"


@dataclass
class Gateway:
    """A running gateway app and what the tests need to reach behind it."""

    client: TestClient
    settings: GatewaySettings
    state: AppState
    nats: NatsServer | None


def make_settings(tmp_path: Path, database_url: str, nats_url: str, **extra: object) -> GatewaySettings:
    """Settings for a test gateway; the engine services point at closed ports unless overridden."""
    closed = f"127.0.0.1:{free_port()}"
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "nats_url": nats_url,
        "transcriber_addr": closed,
        "analyzer_addr": closed,
        "renderer_addr": closed,
        **extra,
    }
    return GatewaySettings.model_validate(values)


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[Gateway]:
    """The gateway on SQLite and on PostgreSQL, with its own NATS server (a stream per test), keys on."""
    with NatsServer(tmp_path / "nats") as nats:
        settings = make_settings(
            tmp_path,
            database_url,
            nats.url,
            api_keys=API_KEY,
            rate_limit="10000/minute",
            # Load shedding has tests of its own; here parallel requests test the database, not admission.
            api_max_in_flight=64,
        )
        app = create_app(settings)
        with TestClient(app, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
            yield Gateway(client, settings, app.state.aiat, nats)
