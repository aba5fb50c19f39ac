"""FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from aiat.store import MediaStore, StorePathError
from aiat_gateway.api.admission import Admission
from aiat_gateway.api.auth import UNAUTHORIZED_RESPONSE, ErrorOut, access_from_settings, require_api_key
from aiat_gateway.api.body_limit import STREAMED_PATHS, BodySizeLimit
from aiat_gateway.api.deps import AppState
from aiat_gateway.api.routes import health, media, sessions, snippets, uploads
from aiat_gateway.db.connection import is_unavailable, make_engine, make_session_factory
from aiat_gateway.errors import DomainError
from aiat_gateway.nats_client import NatsClient
from aiat_gateway.schemas import ValidationErrorOut
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.studio import mount_studio

API_PREFIX = "/api/v1"
PROBES = ("/healthz", "/readyz", "/metrics")  # never queued behind the API
# The error answers every API route may give, documented so clients (and the schema fuzzer) can rely on them.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "The request is not acceptable (see `detail`)"},
    404: {"model": ErrorOut, "description": "No such session, snippet, task or file"},
    409: {"model": ErrorOut, "description": "Not possible in the current state (see `detail`)"},
    413: {"model": ErrorOut, "description": "The request body is larger than AIAT_API_MAX_BODY_BYTES"},
    422: {"model": ValidationErrorOut, "description": "The request does not match the schema"},
    503: {"model": ErrorOut, "description": "Overloaded or database down; retry after `Retry-After` s"},
}


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway app; the schema must already be migrated (`aiat-gateway migrate`)."""
    settings = settings or GatewaySettings()
    access = access_from_settings(settings)  # AccessConfigError before anything opens
    db_engine = make_engine(
        settings.sqlalchemy_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        pool_timeout=settings.database_pool_timeout_seconds,
    )
    state = AppState(
        settings=settings,
        db_engine=db_engine,
        session_factory=make_session_factory(db_engine),
        store=MediaStore(settings.media_root),
        nats=NatsClient(settings.nats_url, settings.jobs_stream, replicas=settings.jobs_stream_replicas),
        access=access,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await state.nats.connect(wait=5.0)
        await uploads.sweep_staged_uploads(state)  # what a crashed predecessor left
        sweeper = asyncio.create_task(uploads.keep_sweeping_staged_uploads(state))
        yield
        sweeper.cancel()
        await state.nats.close()
        db_engine.dispose()

    app = FastAPI(
        title="AIAT Snippets API",
        version="1.0",
        description="Turn recorded lectures into short, finished video snippets.",
        lifespan=lifespan,
    )
    app.state.aiat = state
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    # Added last, so outermost: an overloaded gateway answers 503 before doing anything else.
    app.add_middleware(
        Admission,
        limit=settings.api_max_in_flight,
        queue=settings.api_max_queued,
        wait=settings.api_queue_wait_seconds,
        exempt=PROBES,
        streamed=STREAMED_PATHS,
        uploads=settings.api_max_uploads,
        read_timeout=settings.upload_read_timeout_seconds,
    )
    # Without keys (loopback or AIAT_AUTH_DISABLED) no security is declared, so the schema tells the truth.
    guard = [] if access.open else [Depends(require_api_key)]
    errors = ERROR_RESPONSES if access.open else {**ERROR_RESPONSES, **UNAUTHORIZED_RESPONSE}
    app.include_router(sessions.router, prefix=API_PREFIX, dependencies=guard, responses=errors)
    app.include_router(snippets.router, prefix=API_PREFIX, dependencies=guard, responses=errors)
    app.include_router(snippets.output_router, dependencies=guard, responses=errors)
    app.include_router(media.router, prefix=API_PREFIX, dependencies=guard, responses=errors)
    app.include_router(media.output_router, dependencies=guard, responses=errors)
    app.include_router(health.router)
    mount_studio(app)  # last: `/` and `/studio/` only, after every API route

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(StorePathError)
    async def _bad_path(_request: Request, exc: StorePathError) -> JSONResponse:
        return JSONResponse({"detail": "no such file"}, status_code=404)

    @app.exception_handler(SQLAlchemyError)
    async def _database_down(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if not is_unavailable(exc):
            raise exc
        # The pool replaces dead connections on its own (pre-ping), so the client only has to come back.
        body = {"detail": "The database is unavailable; try again shortly"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}" for e in errors
        )
        safe = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
        return JSONResponse({"detail": message, "errors": safe}, status_code=422)

    return app
