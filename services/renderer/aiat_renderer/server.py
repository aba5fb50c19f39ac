"""`aiat-renderer`: the RendererService gRPC server (health NOT_SERVING until the encoder probe is done)."""

from __future__ import annotations

import asyncio
import logging

import grpc

from aiat.grpc_service import GrpcApp, run_service
from aiat.limits import ConcurrencyLimiter
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from aiat.settings import configure_logging
from aiat.store import MediaStore
from aiat_renderer.engine import FfmpegEngine
from aiat_renderer.servicer import RendererServicer
from aiat_renderer.settings import RendererSettings

SERVICE_NAME = renderer_pb2.DESCRIPTOR.services_by_name["RendererService"].full_name

log = logging.getLogger(__name__)


def build_app(settings: RendererSettings, engine: FfmpegEngine) -> GrpcApp:
    """The gRPC app with the renderer servicer, health and reflection."""
    limiter = ConcurrencyLimiter("renderer", settings.max_concurrency, settings.max_queue)
    servicer = RendererServicer(engine, limiter)

    def register(server: grpc.aio.Server) -> None:
        renderer_pb2_grpc.add_RendererServiceServicer_to_server(servicer, server)

    return GrpcApp(SERVICE_NAME, register, host=settings.host, port=settings.port)


async def serve(settings: RendererSettings) -> None:
    """Run until SIGTERM/SIGINT."""
    engine = FfmpegEngine(settings, MediaStore(settings.media_root))
    app = build_app(settings, engine)

    async def load() -> None:
        await asyncio.to_thread(engine.load)

    async def close() -> None:
        engine.close()

    await run_service(
        app,
        load_engine=load,
        close_engine=close,
        grace_seconds=settings.grace_seconds,
        metrics_port=settings.metrics_port,
    )


def main() -> None:
    """Console entry point."""
    settings = RendererSettings()
    configure_logging(settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
