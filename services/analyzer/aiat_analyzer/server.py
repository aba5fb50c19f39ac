"""Analyzer gRPC server process: `aiat-analyzer` / `python -m aiat_analyzer.server`."""

from __future__ import annotations

import asyncio
import logging

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.grpc_service import GrpcApp, run_service
from aiat.limits import ConcurrencyLimiter
from aiat.settings import configure_logging
from aiat_analyzer.engine import build_engine
from aiat_analyzer.servicer import AnalyzerServicer
from aiat_analyzer.settings import AnalyzerSettings

SERVICE_NAME = analyzer_pb2.DESCRIPTOR.services_by_name["AnalyzerService"].full_name

log = logging.getLogger(__name__)


def build_app(settings: AnalyzerSettings) -> tuple[GrpcApp, AnalyzerServicer]:
    """The gRPC app with the analyzer servicer registered (engine not loaded yet)."""
    limiter = ConcurrencyLimiter("analyzer", settings.max_concurrency, settings.max_queue)
    servicer = AnalyzerServicer(settings, limiter)
    app = GrpcApp(
        SERVICE_NAME,
        lambda server: analyzer_pb2_grpc.add_AnalyzerServiceServicer_to_server(servicer, server),
        host=settings.host,
        port=settings.port,
    )
    return app, servicer


async def serve(settings: AnalyzerSettings) -> None:
    """Run until SIGTERM/SIGINT: NOT_SERVING until the engine is built, then drain on shutdown."""
    app, servicer = build_app(settings)

    async def load_engine() -> None:
        servicer.engine = await asyncio.to_thread(build_engine, settings)
        log.info("analyzer engine %r ready", servicer.engine.name)

    async def close_engine() -> None:
        if servicer.engine is not None:
            await asyncio.to_thread(servicer.engine.close)

    await run_service(
        app,
        load_engine=load_engine,
        close_engine=close_engine,
        grace_seconds=settings.grace_seconds,
        metrics_port=settings.metrics_port,
    )


def main() -> None:
    """Console entry point."""
    settings = AnalyzerSettings()  # type: ignore[call-arg]  # fields come from the environment
    configure_logging(settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
