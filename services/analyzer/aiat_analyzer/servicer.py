"""Thin gRPC servicer: validate the request, run the engine in a worker thread, stream its events."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import grpc

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.common.v1 import transcript_pb2
from aiat.errors import EngineError, EngineUnavailable, InvalidInput
from aiat.limits import ConcurrencyLimiter
from aiat.streaming import Emit, abort_with, guarded_stream, run_in_thread_streaming
from aiat_analyzer.engine import AnalyzeOptions, AnalyzerEngine, resolve_options
from aiat_analyzer.plan import PlanItem
from aiat_analyzer.settings import AnalyzerSettings


def count_words(transcript: transcript_pb2.Transcript) -> int:
    """Words in a transcript (timed words, or the text's words where a segment has none)."""
    return sum(len(s.words) if s.words else len(s.text.split()) for s in transcript.segments)


def to_plan(items: list[PlanItem], engine: str) -> analyzer_pb2.Plan:
    """Plan message from engine items."""
    return analyzer_pb2.Plan(
        engine=engine,
        snippets=[
            analyzer_pb2.PlannedSnippet(
                name=it.name, summary=it.summary, start=it.start, end=it.end, score=it.score, reason=it.reason
            )
            for it in items
        ],
    )


class AnalyzerServicer(analyzer_pb2_grpc.AnalyzerServiceServicer):
    """`aiat.analyzer.v1.AnalyzerService` over one engine, with bounded concurrency."""

    def __init__(self, settings: AnalyzerSettings, limiter: ConcurrencyLimiter) -> None:
        self.settings = settings
        self.limiter = limiter
        self.engine: AnalyzerEngine | None = None

    async def Analyze(
        self, request: analyzer_pb2.AnalyzeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[analyzer_pb2.AnalyzeResponse]:
        """Progress events, then exactly one Plan event."""
        try:  # cheap checks answer at once, before the request queues for a slot
            engine, options = self._prepare(request)
        except EngineError as exc:
            await abort_with(context, exc)
        async for event in guarded_stream(
            context, self.limiter, lambda: self._events(request, engine, options)
        ):
            yield event

    def _prepare(self, request: analyzer_pb2.AnalyzeRequest) -> tuple[AnalyzerEngine, AnalyzeOptions]:
        """The engine and the resolved options, or the EngineError that rejects the request."""
        engine = self.engine
        if engine is None:
            raise EngineUnavailable("the analyzer engine is not loaded yet")
        n_words = count_words(request.transcript)
        if n_words == 0:
            raise InvalidInput("the transcript is empty: no words to analyze")
        if n_words > self.settings.max_words:
            raise InvalidInput(f"the transcript has {n_words} words; the limit is {self.settings.max_words}")
        opts = request.options
        options = resolve_options(
            self.settings,
            min_seconds=opts.min_seconds,
            max_seconds=opts.max_seconds,
            max_snippets=opts.max_snippets,
            language=opts.language or request.transcript.language,
            focus=opts.focus,
            title=request.title,
            module=request.module,
        )
        return engine, options

    async def _events(
        self, request: analyzer_pb2.AnalyzeRequest, engine: AnalyzerEngine, options: AnalyzeOptions
    ) -> AsyncIterator[analyzer_pb2.AnalyzeResponse]:
        def work(emit: Emit, cancel: threading.Event) -> list[PlanItem]:
            def progress(stage: str, done: float, total: float) -> None:
                emit(transcript_pb2.Progress(done=done, total=total, unit="steps", stage=stage))

            return engine.analyze(request.transcript, options, progress, cancel)

        async for event in run_in_thread_streaming(work):
            yield self._response(event, engine.name)

    @staticmethod
    def _response(event: Any, engine: str) -> analyzer_pb2.AnalyzeResponse:
        if isinstance(event, transcript_pb2.Progress):
            return analyzer_pb2.AnalyzeResponse(progress=event)
        return analyzer_pb2.AnalyzeResponse(plan=to_plan(event, engine))
