"""The worker process: pulls session and render jobs from JetStream and drives them to the end."""

from __future__ import annotations

import asyncio
import logging
import signal

from sqlalchemy import text

from aiat.jobs.v1 import jobs_pb2
from aiat.settings import configure_logging
from aiat.store import MediaStore
from aiat_gateway import lifecycle
from aiat_gateway.db.connection import is_outage, make_engine, make_session_factory
from aiat_gateway.drive.download import DriveDownloader
from aiat_gateway.nats_client import RENDER_SUBJECT, SESSION_SUBJECT, NatsClient
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.worker.clients import ServiceClients
from aiat_gateway.worker.consumer import ConsumerSpec, JobConsumer, M, Outage
from aiat_gateway.worker.health import HealthServer
from aiat_gateway.worker.pipeline import SessionPipeline
from aiat_gateway.worker.reconciler import Reconciler
from aiat_gateway.worker.render import RenderRunner
from aiat_gateway.worker.state import WorkerDb

log = logging.getLogger("aiat_gateway.worker")


class Worker:
    """Wires the consumers, the pipeline, the render runner and the reconciler together."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.db_engine = make_engine(
            settings.sqlalchemy_url,
            connect_timeout=settings.database_connect_timeout_seconds,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
        self.factory = make_session_factory(self.db_engine)
        self.store = MediaStore(settings.media_root)
        self.nats = NatsClient(
            settings.nats_url, settings.jobs_stream, replicas=settings.jobs_stream_replicas
        )
        self.clients = ServiceClients(
            settings.transcriber_addr,
            settings.analyzer_addr,
            settings.renderer_addr,
            ready_wait=settings.service_ready_wait_seconds,
            tls=settings.grpc_tls,
        )
        self.db = WorkerDb(self.factory)
        downloader = DriveDownloader(
            endpoint=settings.drive_endpoint,
            max_bytes=settings.drive_max_bytes,
            timeout=settings.drive_timeout_seconds,
        )
        self.pipeline = SessionPipeline(self.db, self.store, self.clients, downloader, settings)
        self.renderer = RenderRunner(self.db, self.store, self.clients, settings)
        self.consumers: list[JobConsumer[jobs_pb2.SessionJob] | JobConsumer[jobs_pb2.RenderJob]] = []
        self.health: HealthServer | None = None
        if settings.worker_health_port is not None:
            checks = {"nats": self._nats_up, "consumers": self._consumers_up, "database": self._database_up}
            self.health = HealthServer(checks, settings.worker_health_host, settings.worker_health_port)

    def specs(self) -> tuple[ConsumerSpec[jobs_pb2.SessionJob], ConsumerSpec[jobs_pb2.RenderJob]]:
        """The two job kinds this worker consumes."""
        return (
            ConsumerSpec("sessions", SESSION_SUBJECT, jobs_pb2.SessionJob, self.pipeline.run, self._session_give_up,
                         self._session_touch),
            ConsumerSpec("renders", RENDER_SUBJECT, jobs_pb2.RenderJob, self.renderer.run, self._render_give_up,
                         self._render_touch),
        )  # fmt: skip

    async def _session_give_up(self, job: jobs_pb2.SessionJob, reason: str) -> None:
        await self.pipeline.fail(job.session_id, reason, job.job_id)

    async def _session_touch(self, job: jobs_pb2.SessionJob) -> None:
        await self.db.run(lifecycle.touch_session, job.session_id, job.job_id)

    async def _render_give_up(self, job: jobs_pb2.RenderJob, reason: str) -> None:
        await self.renderer.give_up(job.task_id, reason)

    async def _render_touch(self, job: jobs_pb2.RenderJob) -> None:
        await self.db.run(lifecycle.touch_task, job.task_id)

    async def _nats_up(self) -> bool:
        return self.nats.connected

    async def _consumers_up(self) -> bool:
        return len(self.consumers) == len(self.specs()) and all(c.subscribed for c in self.consumers)

    async def _database_up(self) -> bool:
        def ping() -> bool:
            with self.db_engine.connect() as conn:
                return conn.execute(text("SELECT 1")).scalar() == 1

        return await asyncio.to_thread(ping)

    async def _database_back(self) -> bool:
        try:
            return await self._database_up()
        except Exception:
            return False

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; jobs in hand finish (or are redelivered elsewhere after ack_wait)."""
        if self.health is not None:
            await self.health.start()
        await self.nats.connect()
        stopped = asyncio.create_task(stop.wait())
        ready = asyncio.create_task(self.nats.ready.wait())
        await asyncio.wait({stopped, ready}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            ready.cancel()
            await self.close()
            return
        self.db.nc = self.nats.nc
        assert self.nats.js is not None
        s = self.settings
        js = self.nats.js
        sessions, renders = self.specs()

        def consumer(spec: ConsumerSpec[M]) -> JobConsumer[M]:
            return JobConsumer(
                js, s.jobs_stream, spec,
                concurrency=s.worker_concurrency, ack_wait=s.job_ack_wait_seconds,
                max_deliver=s.job_max_deliver, backoff_base=s.job_backoff_seconds,
                backoff_cap=s.job_backoff_max_seconds, grace=s.worker_grace_seconds,
                outage=Outage(is_outage, self._database_back), ensure_stream=self.nats.ensure_stream,
            )  # fmt: skip

        reconciler = Reconciler(self.factory, self.nats, s)
        session_consumer, render_consumer = consumer(sessions), consumer(renders)
        self.consumers = [session_consumer, render_consumer]
        log.info("worker started")
        await asyncio.gather(session_consumer.run(stop), render_consumer.run(stop), reconciler.run(stop))
        await self.close()

    async def close(self) -> None:
        """Release connections."""
        if self.health is not None:
            await self.health.close()
        await self.clients.close()
        await self.nats.close()
        self.db_engine.dispose()
        log.info("worker stopped")


async def _main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await Worker(settings).run(stop)


def main() -> None:
    """Entry point of `aiat-worker`."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
