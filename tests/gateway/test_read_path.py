"""The reads clients poll stay cheap under load: one thread-pool hop and one SQL statement each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import event

from tests.gateway import seed
from tests.gateway.conftest import Gateway


@pytest.mark.parametrize("path", ["/api/v1/sessions?limit=100", "/api/v1/jobs/{id}/status"])
def test_a_polled_read_takes_one_thread_hop_and_one_statement(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    ids = []
    for n in range(3):
        created = gateway.client.post(
            "/api/v1/upload-session", json={"name": f"L{n}", "drive_link": seed.LINK.format(seed.file_id(n))}
        )
        assert created.status_code == 200, created.text
        ids.append(created.json()["id"])
    hops = 0
    run_sync: Callable[..., Awaitable[Any]] = anyio.to_thread.run_sync

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal hops
        hops += 1
        return await run_sync(*args, **kwargs)

    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    # Each sync dependency or handler is a hop of its own, and each statement a round trip: on two busy
    # cores every one of them waits for the CPU again (docs/benchmarks.md, Load).
    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    event.listen(gateway.state.db_engine, "before_cursor_execute", record)
    try:
        response = gateway.client.get(path.format(id=ids[1]))
    finally:
        event.remove(gateway.state.db_engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
    assert (hops, len(statements)) == (1, 1), statements
    body = response.json()
    if "job_status" in body:
        assert body["job_status"] in ("Pending", "Queued")
    else:
        assert sorted(s["id"] for s in body) == sorted(ids)
        assert all(s["snippet_count"] == 0 for s in body)
