"""The thin gRPC servicer: request -> RenderJob, engine events -> RenderResponse stream."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import grpc

from aiat.common.v1 import transcript_pb2
from aiat.limits import ConcurrencyLimiter
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from aiat.streaming import Emit, guarded_stream, run_in_thread_streaming
from aiat_renderer.engine import RenderEngine, RenderJob, RenderOutcome, RenderProgress
from aiat_renderer.filters import Rect

ASPECT_NAMES = {
    renderer_pb2.ASPECT_LANDSCAPE: "landscape",
    renderer_pb2.ASPECT_VERTICAL: "vertical",
    renderer_pb2.ASPECT_SQUARE: "square",
}


def job_from_request(req: renderer_pb2.RenderRequest) -> RenderJob:
    """The plain job of a request; unset style messages mean "the renderer's defaults"."""
    style = req.style
    crop, brand = style.crop, style.brand
    roi = Rect(crop.roi_x, crop.roi_y, crop.roi_w, crop.roi_h) if crop.roi_w > 0 else None
    intro = style.intro if style.HasField("intro") else None
    caps = style.captions if style.HasField("captions") else None
    return RenderJob(
        source_path=req.source_path,
        start=req.start,
        end=req.end,
        output_path=req.output_path,
        title=req.title,
        module=req.module,
        session_name=req.session_name,
        aspect=ASPECT_NAMES.get(style.aspect),
        x_center=crop.x_center if crop.HasField("x_center") else None,
        roi=roi,
        font=brand.font,
        text_color=brand.text_color,
        accent_color=brand.accent_color,
        title_position=brand.title_position,
        logo_path=brand.logo_path,
        intro_enabled=intro.enabled if intro is not None else None,
        intro_seconds=intro.seconds if intro is not None else 0.0,
        intro_video=intro.video_path if intro is not None else "",
        captions_enabled=caps.enabled if caps is not None else None,
        highlight_words=caps.highlight_words if caps is not None else None,
        write_srt=caps.write_srt if caps is not None else None,
        normalize_audio=style.normalize_audio if style.HasField("normalize_audio") else None,
        words=[(w.start, w.end, w.text) for w in req.words],
    )


def to_response(event: RenderProgress | RenderOutcome) -> renderer_pb2.RenderResponse:
    """One stream message for an engine event."""
    if isinstance(event, RenderProgress):
        progress = transcript_pb2.Progress(
            done=event.done, total=event.total, unit="seconds", stage=event.stage
        )
        return renderer_pb2.RenderResponse(progress=progress)
    result = renderer_pb2.RenderResult(
        output_path=event.output_path,
        duration=event.duration,
        size_bytes=event.size_bytes,
        encoder=event.encoder,
        srt_path=event.srt_path,
        width=event.width,
        height=event.height,
    )
    return renderer_pb2.RenderResponse(result=result)


class RendererServicer(renderer_pb2_grpc.RendererServiceServicer):
    """RendererService over one engine, at most `limiter.max_concurrency` encodes at a time."""

    def __init__(self, engine: RenderEngine, limiter: ConcurrencyLimiter) -> None:
        self.engine = engine
        self.limiter = limiter

    async def Render(
        self, request: renderer_pb2.RenderRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[renderer_pb2.RenderResponse]:
        """Stream progress, then the result."""
        job = job_from_request(request)

        def work(emit: Emit, cancel: threading.Event) -> RenderOutcome:
            return self.engine.render(job, emit, cancel)

        def events() -> AsyncIterator[Any]:
            return run_in_thread_streaming(work)

        async for event in guarded_stream(context, self.limiter, events):
            yield to_response(event)
