"""Running a gRPC engine service: health, reflection, metrics, graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from aiat.errors import StartupError
from aiat.settings import GrpcServiceSettings, configure_logging
from aiat.tls import ClientTls, ServerTls, channel

MAX_MESSAGE_BYTES = 256 * 1024 * 1024

log = logging.getLogger(__name__)
S = TypeVar("S", bound=GrpcServiceSettings)

Register = Callable[[grpc.aio.Server], None]


class ServiceEngine(Protocol):
    """What every service's engine offers the runner: a blocking load and close (run in a thread)."""

    def load(self) -> None:
        """Load models / probe hardware; raise StartupError when the service cannot work."""

    def close(self) -> None:
        """Release what load() acquired; safe to call when load() never ran or failed."""


GRPC_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]
_MAX_CHANNEL_ARG_MS = 2**31 - 1  # gRPC core reads these channel args as C ints


def connection_age_options(age_seconds: float, grace_seconds: float) -> list[tuple[str, int]]:
    """Server channel args that recycle a connection after `age_seconds`; none when the age is 0."""
    if age_seconds <= 0:
        return []
    return [
        ("grpc.max_connection_age_ms", min(_MAX_CHANNEL_ARG_MS, max(1, round(age_seconds * 1000)))),
        ("grpc.max_connection_age_grace_ms", min(_MAX_CHANNEL_ARG_MS, round(grace_seconds * 1000))),
    ]


class GrpcApp:
    """One grpc.aio server with the standard health (and optional reflection) services around a servicer."""

    def __init__(
        self,
        service_name: str,
        register: Callable[[grpc.aio.Server], None],
        host: str = "127.0.0.1",
        port: int = 0,
        options: Sequence[tuple[str, int]] = (),
        *,
        reflection_enabled: bool = True,
        tls: ServerTls | None = None,
    ) -> None:
        self.service_name = service_name
        self.server = grpc.aio.server(options=[*GRPC_OPTIONS, *options])
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        register(self.server)
        if reflection_enabled:
            reflection.enable_server_reflection(
                [service_name, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
            )
        self.tls = tls
        self.address = f"{host}:{port}"
        self.port = 0

    async def start(self) -> int:
        """Bind (TLS when configured), start serving (health NOT_SERVING until set_serving(True)), return the port."""
        if self.tls is not None:
            self.port = self.server.add_secure_port(self.address, self.tls.credentials())
        else:
            self.port = self.server.add_insecure_port(self.address)
        if self.port == 0:
            raise RuntimeError(f"could not bind gRPC server to {self.address}")
        await self.set_serving(False)
        await self.server.start()
        return self.port

    async def set_serving(self, serving: bool) -> None:
        """Report SERVING or NOT_SERVING for the overall server and the named service."""
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await self.health.set("", status)
        await self.health.set(self.service_name, status)

    async def stop(self, grace: float) -> None:
        """Stop accepting work, let in-flight calls finish within `grace` seconds, then cancel them."""
        await self.set_serving(False)
        await self.server.stop(grace)

    @classmethod
    def for_settings(cls, settings: GrpcServiceSettings, service_name: str, register: Register) -> GrpcApp:
        """The app on the service's configured host and port, with its TLS, reflection and connection age."""
        options = connection_age_options(
            settings.max_connection_age_seconds, settings.max_connection_age_grace_seconds
        )
        tls = None
        if settings.tls_cert is not None and settings.tls_key is not None:
            tls = ServerTls.from_files(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
        return cls(
            service_name,
            register,
            host=settings.host,
            port=settings.port,
            options=options,
            reflection_enabled=settings.reflection,
            tls=tls,
        )


async def run_service(
    app: GrpcApp,
    *,
    load_engine: Callable[[], Coroutine[Any, Any, None]],
    close_engine: Callable[[], Awaitable[None]],
    grace_seconds: float,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> None:
    """Start the server, load the engine (then SERVING), and shut down gracefully on SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    metrics = None
    if metrics_port is not None:
        metrics, _ = start_http_server(metrics_port, addr=metrics_host)
        log.info("metrics on %s:%d/metrics", metrics_host, metrics_port)
    try:
        await _serve_until_stopped(app, load_engine, close_engine, stop, grace_seconds)
    finally:
        if metrics is not None:
            await asyncio.to_thread(metrics.shutdown)
            metrics.server_close()


async def _serve_until_stopped(
    app: GrpcApp,
    load_engine: Callable[[], Coroutine[Any, Any, None]],
    close_engine: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    grace_seconds: float,
) -> None:
    port = await app.start()
    log.info("%s listening on port %d (NOT_SERVING until the engine is loaded)", app.service_name, port)

    load = asyncio.create_task(load_engine())
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({load, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if load.done():
            load.result()  # a failed load is a start-up error: raise it (after the cleanup below)
            await app.set_serving(True)
            log.info("%s SERVING", app.service_name)
            await stopped
        else:
            load.cancel()
    finally:
        stopped.cancel()
        log.info("shutting down: draining in-flight calls for up to %.0fs", grace_seconds)
        await app.stop(grace_seconds)
        await close_engine()
    log.info("%s stopped", app.service_name)


async def serve(app: GrpcApp, engine: ServiceEngine, settings: GrpcServiceSettings) -> None:
    """Every service's run loop: serve `app`, load `engine` in a thread, drain and close on SIGTERM."""
    await run_service(
        app,
        load_engine=lambda: asyncio.to_thread(engine.load),
        close_engine=lambda: asyncio.to_thread(engine.close),
        grace_seconds=settings.grace_seconds,
        metrics_port=settings.metrics_port,
        metrics_host=settings.metrics_host or settings.host,
    )


def run_main(settings_type: type[S], serve_fn: Callable[[S], Coroutine[Any, Any, None]]) -> None:
    """Console entry point of a service: settings from the environment, logging, then serve; exit 2 on StartupError."""
    settings = settings_type()
    configure_logging(settings.log_level)
    try:
        asyncio.run(serve_fn(settings))
    except StartupError as exc:
        log.error("cannot start: %s", exc)
        sys.exit(2)


async def check_health(
    target: str, service: str = "", timeout: float = 2.0, tls: ClientTls | None = None
) -> str:
    """Ask a gRPC server's health service (over TLS when `tls`); the status name or the error that prevented it."""
    try:
        async with channel(target, tls) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            resp = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
            return str(health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status))
    except grpc.aio.AioRpcError as exc:
        return f"{exc.code().name}: {exc.details()}"
