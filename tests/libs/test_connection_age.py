"""Servers recycle client connections (GOAWAY after max_connection_age) without cutting calls in their grace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.common.v1 import transcript_pb2
from aiat.grpc_service import GrpcApp, connection_age_options
from aiat.settings import GrpcServiceSettings
from aiat_transcriber.settings import TranscriberSettings

SLOW_TICKS = 10
TICK_SECONDS = 0.3


class PeerEcho(analyzer_pb2_grpc.AnalyzerServiceServicer):
    """Streams the caller's address (one TCP connection each) as progress: 10 ticks for "slow", else 1."""

    async def Analyze(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        ticks = SLOW_TICKS if request.title == "slow" else 1
        for tick in range(ticks):
            if tick:
                await asyncio.sleep(TICK_SECONDS)
            progress = transcript_pb2.Progress(done=tick + 1, total=ticks, stage=context.peer())
            yield analyzer_pb2.AnalyzeResponse(progress=progress)


async def _serve(age: float, grace: float) -> GrpcApp:
    settings = GrpcServiceSettings(max_connection_age_seconds=age, max_connection_age_grace_seconds=grace)
    app = GrpcApp.for_settings(
        settings,
        "aiat.analyzer.v1.AnalyzerService",
        lambda server: analyzer_pb2_grpc.add_AnalyzerServiceServicer_to_server(PeerEcho(), server),
    )
    await app.start()
    return app


async def _fast_peer(stub: analyzer_pb2_grpc.AnalyzerServiceStub) -> str:
    events = [event async for event in stub.Analyze(analyzer_pb2.AnalyzeRequest(title="fast"))]
    return str(events[0].progress.stage)


async def test_aged_connection_is_replaced_while_a_stream_in_grace_finishes() -> None:
    app = await _serve(age=0.5, grace=30)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerServiceStub(channel)
            slow = stub.Analyze(analyzer_pb2.AnalyzeRequest(title="slow"))
            events = []
            async for event in slow:
                events.append(event)
                if len(events) == 1:
                    await asyncio.sleep(1.2)  # past the age (+10 % jitter): the server has sent GOAWAY
                    assert channel.get_state() == grpc.ChannelConnectivity.IDLE
                    assert await _fast_peer(stub) != event.progress.stage  # a new connection
            assert [e.progress.done for e in events] == list(range(1, SLOW_TICKS + 1))
            assert len({e.progress.stage for e in events}) == 1  # the slow call kept its connection
            assert await slow.code() == grpc.StatusCode.OK
    finally:
        await app.stop(0)


async def test_without_an_age_the_connection_is_kept() -> None:
    app = await _serve(age=0, grace=30)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerServiceStub(channel)
            before = await _fast_peer(stub)
            await asyncio.sleep(1.2)
            assert channel.get_state() == grpc.ChannelConnectivity.READY
            assert await _fast_peer(stub) == before
    finally:
        await app.stop(0)


async def test_a_call_outlasting_the_grace_is_cut() -> None:
    app = await _serve(age=0.3, grace=0.5)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                async for _event in stub.Analyze(analyzer_pb2.AnalyzeRequest(title="slow")):
                    pass
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await app.stop(0)


def test_age_settings_come_from_the_shared_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAT_GRPC_MAX_CONNECTION_AGE_SECONDS", "60")
    monkeypatch.setenv("AIAT_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS", "7200")
    settings = TranscriberSettings()
    assert (settings.max_connection_age_seconds, settings.max_connection_age_grace_seconds) == (60, 7200)
    assert connection_age_options(60, 7200) == [
        ("grpc.max_connection_age_ms", 60_000),
        ("grpc.max_connection_age_grace_ms", 7_200_000),
    ]
    assert connection_age_options(0, 7200) == []


def test_defaults_let_the_longest_call_finish() -> None:
    settings = GrpcServiceSettings()
    assert settings.max_connection_age_seconds == 300
    assert settings.max_connection_age_grace_seconds >= 4 * 3600  # the transcribe step's deadline
