"""The `aiat-transcriber` process: the engine behind the servicer, run by the shared gRPC service runner."""

from __future__ import annotations

from aiat import grpc_service
from aiat.grpc_service import GrpcApp, run_main
from aiat.limits import ConcurrencyLimiter
from aiat_transcriber.engine import TranscriptionEngine, build_engine
from aiat_transcriber.servicer import SERVICE_NAME, TranscriberServicer
from aiat_transcriber.settings import TranscriberSettings


def create_app(settings: TranscriberSettings, engine: TranscriptionEngine) -> GrpcApp:
    """The gRPC app: the servicer over `engine` with the configured concurrency, health and reflection."""
    limiter = ConcurrencyLimiter("transcriber", settings.max_concurrency, settings.max_queue)
    return GrpcApp.for_settings(settings, SERVICE_NAME, TranscriberServicer(engine, limiter).register)


async def serve(settings: TranscriberSettings) -> None:
    """Serve until SIGTERM/SIGINT; the model loads in a thread while health answers NOT_SERVING."""
    engine = build_engine(settings)
    await grpc_service.serve(create_app(settings, engine), engine, settings)


def main() -> None:
    """Entry point of `aiat-transcriber`; exit code 2 when the model is missing."""
    run_main(TranscriberSettings, serve)


if __name__ == "__main__":
    main()
