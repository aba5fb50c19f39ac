"""The `aiat-renderer` process: the engine behind the servicer, run by the shared gRPC service runner."""

from __future__ import annotations

from aiat import grpc_service
from aiat.grpc_service import GrpcApp, run_main
from aiat.limits import ConcurrencyLimiter
from aiat_renderer.engine import RenderEngine, build_engine
from aiat_renderer.servicer import SERVICE_NAME, RendererServicer
from aiat_renderer.settings import RendererSettings


def create_app(settings: RendererSettings, engine: RenderEngine) -> GrpcApp:
    """The gRPC app: the servicer over `engine` with the configured concurrency, health and reflection."""
    limiter = ConcurrencyLimiter("renderer", settings.max_concurrency, settings.max_queue)
    return GrpcApp.for_settings(settings, SERVICE_NAME, RendererServicer(engine, limiter).register)


async def serve(settings: RendererSettings) -> None:
    """Serve until SIGTERM/SIGINT; health answers NOT_SERVING until the encoder probe is done."""
    engine = build_engine(settings)
    await grpc_service.serve(create_app(settings, engine), engine, settings)


def main() -> None:
    """Entry point of `aiat-renderer`; exit code 2 when no encoder works or the default font is missing."""
    run_main(RendererSettings, serve)


if __name__ == "__main__":
    main()
