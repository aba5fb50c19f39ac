"""The `aiat-transcriber` process: settings, engine, gRPC app, metrics and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging

from aiat.grpc_service import GrpcApp, run_service
from aiat.limits import ConcurrencyLimiter
from aiat.settings import configure_logging
from aiat.store import MediaStore
from aiat_transcriber.engine import EngineConfig, FasterWhisperEngine, ModelNotFound, TranscriptionEngine
from aiat_transcriber.servicer import SERVICE_NAME, TranscriberServicer
from aiat_transcriber.settings import TranscriberSettings

log = logging.getLogger(__name__)


class TranscriberServer:
    """The transcriber's engine, servicer and gRPC app, wired from settings."""

    def __init__(self, settings: TranscriberSettings, engine: TranscriptionEngine | None = None) -> None:
        self.settings = settings
        self.engine = (
            engine if engine is not None else FasterWhisperEngine(EngineConfig.from_settings(settings))
        )
        self.limiter = ConcurrencyLimiter("transcriber", settings.max_concurrency, settings.max_queue)
        self.store = MediaStore(settings.media_root)
        self.servicer = TranscriberServicer(self.engine, self.store, self.limiter)
        self.app = GrpcApp(SERVICE_NAME, self.servicer.register, settings.host, settings.port)

    async def load_engine(self) -> None:
        """Load the model in a thread, so health answers NOT_SERVING meanwhile."""
        await asyncio.to_thread(self.engine.load)

    async def close_engine(self) -> None:
        """Release the model after the server has drained."""
        await asyncio.to_thread(self.engine.close)

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT, then drain within the grace period."""
        await run_service(
            self.app,
            load_engine=self.load_engine,
            close_engine=self.close_engine,
            grace_seconds=self.settings.grace_seconds,
            metrics_port=self.settings.metrics_port,
        )


async def serve(settings: TranscriberSettings) -> None:
    """Build the server inside the running loop (grpc.aio binds to it) and run it."""
    await TranscriberServer(settings).run()


def main() -> None:
    """Entry point of `aiat-transcriber`."""
    settings = TranscriberSettings()  # type: ignore[call-arg]  # pydantic-settings reads the env
    configure_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except ModelNotFound as exc:
        log.error("cannot start: %s", exc)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
