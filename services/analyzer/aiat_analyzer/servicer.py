"""Thin gRPC servicer: validate the request, run the engine in a worker thread, stream its events."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import grpc

from aiat.analyzer.v1 import analyzer_pb2, analyzer_pb2_grpc
from aiat.common.v1 import transcript_pb2
from aiat.errors import EngineError, EngineUnavailable
from aiat.limits import ConcurrencyLimiter
from aiat.streaming import Emit, abort_with, guarded_stream, run_in_thread_streaming
from aiat_analyzer.pipeline import AnalyzeOptions, AnalyzerEngine, ProgressFn, SlideInfo, band
from aiat_analyzer.plan import PlanItem
from aiat_analyzer.slides import SlideStep

SERVICE_NAME = analyzer_pb2.DESCRIPTOR.services_by_name["AnalyzerService"].full_name


def count_words(transcript: transcript_pb2.Transcript) -> int:
    """Words in a transcript (timed words, or the text's words where a segment has none)."""
    return sum(len(s.words) if s.words else len(s.text.split()) for s in transcript.segments)


def to_plan(items: Sequence[PlanItem], engine: str, slides: Sequence[SlideInfo] = ()) -> analyzer_pb2.Plan:
    """Plan message from engine items (with their advisories) and the slides used."""
    return analyzer_pb2.Plan(
        engine=engine,
        snippets=[
            analyzer_pb2.PlannedSnippet(
                name=it.name,
                summary=it.summary,
                start=it.start,
                end=it.end,
                score=it.score,
                reason=it.reason,
                advisories=[
                    analyzer_pb2.Advisory(
                        kind=a.kind,
                        message=a.message,
                        suggested_start=a.suggested_start,
                        suggested_end=a.suggested_end,
                    )
                    for a in it.advisories
                ],
            )
            for it in items
        ],
        slides=[
            analyzer_pb2.Slide(start=s.start, title=s.title, text=s.text, thumbnail=s.thumbnail)
            for s in slides
        ],
    )


class AnalyzerServicer(analyzer_pb2_grpc.AnalyzerServiceServicer):
    """`aiat.analyzer.v1.AnalyzerService` over one engine, with bounded concurrency."""

    def __init__(
        self, engine: AnalyzerEngine, limiter: ConcurrencyLimiter, slides: SlideStep | None = None
    ) -> None:
        self.engine = engine
        self.limiter = limiter
        self.slides = slides

    async def Analyze(
        self,
        request: analyzer_pb2.AnalyzeRequest,
        context: grpc.aio.ServicerContext[analyzer_pb2.AnalyzeRequest, analyzer_pb2.AnalyzeResponse],
    ) -> AsyncIterator[analyzer_pb2.AnalyzeResponse]:
        """Progress events, then exactly one Plan event."""
        try:  # cheap checks answer at once, before the request queues for a slot
            options = self._options(request)
        except EngineError as exc:
            await abort_with(context, exc)
        async for event in guarded_stream(context, self.limiter, lambda: self._events(request, options)):
            yield event

    def _options(self, request: analyzer_pb2.AnalyzeRequest) -> AnalyzeOptions:
        """The request's options resolved by the engine, or the EngineError that rejects the request."""
        if not self.engine.loaded:  # e.g. a client that resolves replicas before they report SERVING
            raise EngineUnavailable("the analyzer is still loading its model; retry shortly")
        limits = self.engine.limits
        limits.check_words(count_words(request.transcript))
        opts = request.options
        return limits.resolve(
            min_seconds=opts.min_seconds,
            max_seconds=opts.max_seconds,
            max_snippets=opts.max_snippets,
            language=opts.language or request.transcript.language,
            focus=opts.focus,
            title=request.title,
            module=request.module,
        )

    async def _events(
        self, request: analyzer_pb2.AnalyzeRequest, options: AnalyzeOptions
    ) -> AsyncIterator[analyzer_pb2.AnalyzeResponse]:
        def work(
            emit: Emit[transcript_pb2.Progress], cancel: threading.Event
        ) -> tuple[Sequence[PlanItem], list[SlideInfo]]:
            def progress(stage: str, done: float, total: float) -> None:
                emit(transcript_pb2.Progress(done=done, total=total, unit="steps", stage=stage))

            slides = [SlideInfo(s.start, s.title, s.text, s.thumbnail) for s in request.slides]
            analysis: ProgressFn = progress
            if not slides and request.media_path and self.slides is not None:
                # One bar over both: slide detection the first half, the analysis the second.
                slides = self.slides.run(
                    request.media_path,
                    request.slides_dir,
                    lambda done, total: band(progress, 0, 1, 2)("slides", done, total),
                    cancel,
                )
                analysis = band(progress, 1, 1, 2)
            slides.sort(key=lambda s: s.start)
            found = replace(options, slides=tuple(slides))
            return self.engine.analyze(request.transcript, found, analysis, cancel), slides

        async for event in run_in_thread_streaming(work):
            if isinstance(event, transcript_pb2.Progress):
                yield analyzer_pb2.AnalyzeResponse(progress=event)
            else:
                items, slides = event
                yield analyzer_pb2.AnalyzeResponse(plan=to_plan(items, self.engine.name, slides))
