"""The shared streaming guard: unexpected errors become INTERNAL and always release the work slot."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.errors import InvalidInput
from aiat.grpc_service import GrpcApp
from aiat.limits import ConcurrencyLimiter
from aiat.streaming import Emit, guarded_stream, run_in_thread_streaming


class Broken(analyzer_pb2_grpc.AnalyzerServiceServicer):
    """Raises what the request's title names, from a worker thread."""

    def __init__(self) -> None:
        self.limiter = ConcurrencyLimiter("broken", 1, 1)

    async def Analyze(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        def work(emit: Emit, cancel: threading.Event) -> Any:
            if request.title == "bug":
                raise KeyError("internal detail that must not leak")
            raise InvalidInput("the transcript is empty")

        async for event in guarded_stream(context, self.limiter, lambda: run_in_thread_streaming(work)):
            yield event


@pytest.mark.parametrize(
    ("title", "code", "message"),
    [
        ("bug", grpc.StatusCode.INTERNAL, "broken: internal error"),
        ("input", grpc.StatusCode.INVALID_ARGUMENT, "the transcript is empty"),
    ],
)
async def test_errors_map_to_codes_and_free_the_slot(title: str, code: grpc.StatusCode, message: str) -> None:
    servicer = Broken()
    app = GrpcApp(
        "aiat.analyzer.v1.AnalyzerService",
        lambda server: analyzer_pb2_grpc.add_AnalyzerServiceServicer_to_server(servicer, server),
    )
    port = await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerServiceStub(channel)
            for _ in range(3):  # a leaked slot would make the second call RESOURCE_EXHAUSTED
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    async for _event in stub.Analyze(analyzer_pb2.AnalyzeRequest(title=title)):
                        pass
                assert err.value.code() == code
                assert message in (err.value.details() or "")
                assert "KeyError" not in (err.value.details() or "")
        assert servicer.limiter.in_flight == 0 and servicer.limiter.waiting == 0
    finally:
        await app.stop(0)
