"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from aiat.grpc_service import check_health
from aiat_gateway.api.deps import AppState, State

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)
# /readyz is open and skips admission: a result this fresh is reused, so a flood of probes costs one check.
READY_TTL_SECONDS = 1.0


class Readiness:
    """The last readiness result, checked again at most once per READY_TTL_SECONDS, one check at a time."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.checked_at = float("-inf")
        self.result: tuple[dict[str, object], int] | None = None
        self.checks = 0

    async def get(self, state: AppState) -> tuple[dict[str, object], int]:
        """The cached result, or a new one; callers arriving during a check wait for it and share it."""
        async with self.lock:
            loop = asyncio.get_running_loop()
            if self.result is None or loop.time() - self.checked_at >= READY_TTL_SECONDS:
                self.checks += 1
                self.result = await _check(state)
                self.checked_at = loop.time()
            return self.result


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
async def readyz(request: Request, state: State) -> JSONResponse:
    """Ready when the DB, NATS and each gRPC service answer; 503 naming what is not."""
    readiness: Readiness | None = getattr(request.app.state, "readiness", None)
    if readiness is None:
        readiness = request.app.state.readiness = Readiness()
    body, status = await readiness.get(state)
    return JSONResponse(body, status_code=status)


async def _check(state: AppState) -> tuple[dict[str, object], int]:
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
    body: dict[str, object] = {
        "status": "ready" if ready else "not ready",
        "checks": checks,
        "failing": failing,
    }
    return body, 200 if ready else 503
