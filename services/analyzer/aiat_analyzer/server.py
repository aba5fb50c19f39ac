"""Analyzer gRPC server process: `aiat-analyzer` / `python -m aiat_analyzer.server`."""

from __future__ import annotations

import grpc

from aiat import grpc_service
from aiat.analyzer.v1 import analyzer_pb2_grpc
from aiat.grpc_service import GrpcApp
from aiat.limits import ConcurrencyLimiter
from aiat.store import MediaStore
from aiat_analyzer.factory import build_engine
from aiat_analyzer.pipeline import AnalyzerEngine
from aiat_analyzer.servicer import SERVICE_NAME, AnalyzerServicer
from aiat_analyzer.settings import AnalyzerSettings
from aiat_analyzer.slides import SlideParams, SlideStep


def create_app(settings: AnalyzerSettings, engine: AnalyzerEngine) -> GrpcApp:
    """The gRPC app serving `engine` (loaded or not) with the configured concurrency limits."""
    limiter = ConcurrencyLimiter("analyzer", settings.max_concurrency, settings.max_queue)
    slides = None
    if settings.slides:
        params = SlideParams(sample_fps=settings.slide_sample_fps, ocr=settings.slide_ocr)
        slides = SlideStep(MediaStore(settings.media_root), params)
    servicer = AnalyzerServicer(engine, limiter, slides)

    def register(server: grpc.aio.Server) -> None:
        analyzer_pb2_grpc.add_AnalyzerServiceServicer_to_server(servicer, server)

    return GrpcApp.for_settings(settings, SERVICE_NAME, register)


async def serve(settings: AnalyzerSettings) -> None:
    """Run until SIGTERM/SIGINT: NOT_SERVING until the engine has loaded, then drain on shutdown."""
    engine = build_engine(settings)
    await grpc_service.serve(create_app(settings, engine), engine, settings)


def main() -> None:
    """Console entry point."""
    grpc_service.run_main(AnalyzerSettings, serve)


if __name__ == "__main__":
    main()
