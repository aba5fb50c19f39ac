"""gRPC clients of the transcriber, analyzer and renderer, as plain async calls with progress callbacks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.common.v1 import transcript_pb2
from aiat.grpc_service import GRPC_OPTIONS, check_health
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from aiat.tls import ClientTls, channel
from aiat.transcriber.v1 import transcriber_pb2, transcriber_pb2_grpc
from aiat_gateway.worker.errors import StepError
from aiat_gateway.worker.progress import ProgressFn

PERMANENT_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


def channel_options(lb_policy: str = "round_robin") -> list[tuple[str, str | int]]:
    """Client channel args: message limits and `lb_policy` over every address the target resolves to.

    With `dns:///<headless service>:<port>` the DNS resolver yields one address per ready pod and
    round_robin keeps a connection to each, so calls spread over the replicas; the servers' GOAWAY
    after max_connection_age makes the channel re-resolve and pick up new ones. A service config
    published in DNS (TXT records) is ignored: the policy is ours, not the network's. Reconnect
    backoff is capped at 5 s (gRPC's default grows to 120 s) so a restarted replica is used again soon.
    """
    service_config: dict[str, list[dict[str, dict[str, str]]]] = {"loadBalancingConfig": [{lb_policy: {}}]}
    return [
        *GRPC_OPTIONS,
        ("grpc.service_config", json.dumps(service_config)),
        ("grpc.service_config_disable_resolution", 1),
        ("grpc.max_reconnect_backoff_ms", 5000),
    ]


def step_error(service: str, exc: grpc.aio.AioRpcError) -> StepError:
    """Translate a gRPC error into a user-facing step error, named by its service once."""
    code = exc.code()
    detail = exc.details() or code.name
    # The services' own messages may already name them ("renderer: internal error …", "renderer is busy").
    if not detail.startswith((f"{service}:", f"{service} ")):
        detail = f"{service}: {detail}"
    return StepError(f"{detail} ({code.name})", code in PERMANENT_CODES)


async def _final(
    service: str,
    stream: AsyncIterator[Any],
    result_field: str,
    on_progress: ProgressFn | None,
) -> Any:
    result = None
    try:
        async for event in stream:
            kind = event.WhichOneof("event")
            if kind == "progress":
                if on_progress is not None:
                    await on_progress(event.progress.done, event.progress.total)
            elif kind == result_field:
                result = getattr(event, result_field)
    except grpc.aio.AioRpcError as exc:
        raise step_error(service, exc) from exc
    if result is None:
        raise StepError(f"{service}: the stream ended without a {result_field}", permanent=False)
    return result


class ServiceClients:
    """Channels to the transcriber, analyzer and renderer (one load-balanced channel each, reused).

    Targets are `host:port` or `dns:///host:port` (or any gRPC target such as `ipv4:a:p,b:q`);
    with `tls` every channel (health checks too) is TLS, else plaintext.
    """

    def __init__(
        self,
        transcriber: str,
        analyzer: str,
        renderer: str,
        ready_wait: float = 60.0,
        lb_policy: str = "round_robin",
        tls: ClientTls | None = None,
    ) -> None:
        self._addrs = {"transcriber": transcriber, "analyzer": analyzer, "renderer": renderer}
        self.ready_wait = ready_wait
        self.tls = tls
        options = channel_options(lb_policy)
        self._channels = {
            name: channel(addr, tls, options)
            for name, addr in (("transcriber", transcriber), ("analyzer", analyzer), ("renderer", renderer))
        }
        self.transcriber = transcriber_pb2_grpc.TranscriberServiceStub(self._channels["transcriber"])
        self.analyzer = analyzer_pb2_grpc.AnalyzerServiceStub(self._channels["analyzer"])
        self.renderer = renderer_pb2_grpc.RendererServiceStub(self._channels["renderer"])

    async def transcribe(
        self,
        request: transcriber_pb2.TranscribeRequest,
        timeout: float,
        on_progress: ProgressFn | None = None,
    ) -> transcript_pb2.Transcript:
        """Run a transcription to its end."""
        await self._ensure_serving("transcriber")
        stream = self.transcriber.Transcribe(request, timeout=timeout)
        result: transcript_pb2.Transcript = await _final("transcriber", stream, "transcript", on_progress)
        return result

    async def analyze(
        self, request: analyzer_pb2.AnalyzeRequest, timeout: float, on_progress: ProgressFn | None = None
    ) -> analyzer_pb2.Plan:
        """Run an analysis to its end."""
        await self._ensure_serving("analyzer")
        stream = self.analyzer.Analyze(request, timeout=timeout)
        result: analyzer_pb2.Plan = await _final("analyzer", stream, "plan", on_progress)
        return result

    async def render(
        self, request: renderer_pb2.RenderRequest, timeout: float, on_progress: ProgressFn | None = None
    ) -> renderer_pb2.RenderResult:
        """Run a render to its end."""
        await self._ensure_serving("renderer")
        stream = self.renderer.Render(request, timeout=timeout)
        result: renderer_pb2.RenderResult = await _final("renderer", stream, "result", on_progress)
        return result

    async def _ensure_serving(self, service: str) -> None:
        """Wait (bounded) for the service's health to be SERVING, e.g. while its model loads."""
        deadline = asyncio.get_running_loop().time() + self.ready_wait
        while True:
            # A short-lived channel of its own: health checks on the round-robin channel would take
            # every other pick, so with two replicas all the real calls would land on one of them.
            status = await check_health(self._addrs[service], timeout=2.0, tls=self.tls)
            if status == "SERVING":
                # A channel that lost a restarted server fails calls at once until its reconnect backoff
                # (up to 5 s) ends: wait for it to connect rather than spend an attempt on a failed call.
                remaining = max(deadline - asyncio.get_running_loop().time(), 1.0)
                try:
                    await asyncio.wait_for(self._channels[service].channel_ready(), remaining)
                except TimeoutError:
                    raise StepError(f"{service} is not available (no connection)", permanent=False) from None
                return
            if asyncio.get_running_loop().time() > deadline:
                raise StepError(f"{service} is not available ({status})", permanent=False)
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        """Close the channels."""
        for open_channel in self._channels.values():
            await open_channel.close(grace=None)
