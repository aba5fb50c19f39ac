"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from aiat.grpc_service import check_health
from aiat_gateway.api.deps import AppState, State

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


class ReadyOut(BaseModel):
    """/readyz body: each check's state and the names of those failing."""

    status: str
    checks: dict[str, str]
    failing: list[str]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive; async, so it never queues behind requests waiting on the database."""
    return {"status": "ok"}


def _db_ok(state: AppState) -> str:
    try:
        with state.db_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # the reason goes to the log; the open endpoint names only the check
        log.warning("readiness: database check failed: %s", exc.__class__.__name__)
        return "error: unavailable"


def _service_status(name: str, answer: str) -> str:
    """The gRPC status name only: the details carry addresses, which an open endpoint must not show."""
    if answer != "SERVING":
        log.warning("readiness: %s answered %s", name, answer)
    return answer.split(":", 1)[0]


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready: `failing` names what is not"}},
)
async def readyz(state: State) -> JSONResponse:
    """Ready when the DB, NATS and each gRPC service answer; 503 naming what is not."""
    s = state.settings
    db_status, *services = await asyncio.gather(
        asyncio.to_thread(_db_ok, state),
        check_health(s.transcriber_addr, tls=s.grpc_tls),
        check_health(s.analyzer_addr, tls=s.grpc_tls),
        check_health(s.renderer_addr, tls=s.grpc_tls),
    )
    checks = {
        "database": db_status,
        "nats": await state.nats.stream_status(),  # connected, and the jobs stream exists (or is made again)
        "transcriber": _service_status("transcriber", services[0]),
        "analyzer": _service_status("analyzer", services[1]),
        "renderer": _service_status("renderer", services[2]),
    }
    ready = all(v in ("ok", "SERVING") for v in checks.values())
    failing = [k for k, v in checks.items() if v not in ("ok", "SERVING")]
    body = {"status": "ready" if ready else "not ready", "checks": checks, "failing": failing}
    return JSONResponse(body, status_code=200 if ready else 503)
