"""Oversized request bodies: 413 with a JSON body, decided without reading more than the limit."""

from __future__ import annotations

import json
from collections.abc import Iterator

from starlette.types import Message, Receive, Scope, Send

from aiat_gateway.api.body_limit import BodySizeLimit
from tests.gateway import seed
from tests.gateway.conftest import Gateway

LIMIT = 1024**2  # the default AIAT_API_MAX_BODY_BYTES


def big_upload() -> bytes:
    """An upload body just over the limit (a long module name)."""
    body = {"name": "L", "module": "x" * LIMIT, "drive_link": seed.LINK.format(seed.file_id(1))}
    return json.dumps(body).encode()


def test_an_oversized_body_is_refused_with_413_json(gateway: Gateway) -> None:
    headers = {"content-type": "application/json"}
    resp = gateway.client.post("/api/v1/upload-session", content=big_upload(), headers=headers)
    assert resp.status_code == 413
    assert resp.json() == {"detail": f"The request body is larger than the limit of {LIMIT} bytes"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        data = big_upload()
        for i in range(0, len(data), 64 * 1024):
            yield data[i : i + 64 * 1024]

    resp = gateway.client.post("/api/v1/upload-session", content=chunks(), headers=headers)
    assert resp.status_code == 413
    assert resp.json()["detail"].startswith("The request body is larger than the limit")
    assert gateway.client.get("/api/v1/sessions").json() == []
    ok = gateway.client.post(
        "/api/v1/upload-session", json={"name": "L", "drive_link": seed.LINK.format(seed.file_id(1))}
    )
    assert ok.status_code == 200, ok.text


async def test_the_limit_stops_reading_an_endless_body() -> None:
    """A client streaming without end gets its 413 after about the limit, not after the whole body."""
    reads = 0
    sent: list[Message] = []

    async def endless() -> Message:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await BodySizeLimit(app, max_bytes=LIMIT)(scope, endless, send)
    assert sent[0]["status"] == 413
    assert reads == LIMIT // 65536 + 1
