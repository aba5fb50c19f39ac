"""The thin gRPC servicer: RenderRequest -> RenderSpec, engine events -> RenderResponse stream."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import grpc

from aiat.aspect import Aspect
from aiat.common.v1 import transcript_pb2
from aiat.framing import Layout
from aiat.limits import ConcurrencyLimiter
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from aiat.streaming import Emit, guarded_stream, run_in_thread_streaming
from aiat_renderer.engine import RenderEngine
from aiat_renderer.layout import Rect
from aiat_renderer.spec import RenderOutcome, RenderProgress, RenderSpec

SERVICE_NAME = renderer_pb2.DESCRIPTOR.services_by_name["RendererService"].full_name


def _aspect(value: renderer_pb2.Aspect) -> Aspect | None:
    """The requested preset; None (the renderer's default) when unset or newer than this renderer."""
    try:
        return Aspect.from_proto(value)
    except ValueError:
        return None


def _layout(value: renderer_pb2.Layout) -> Layout | None:
    """The requested layout; None (the renderer's default) when unset or newer than this renderer."""
    try:
        return Layout.from_proto(value)
    except ValueError:
        return None


def _region(value: renderer_pb2.Region) -> Rect | None:
    """A region override; None when unset (no positive width)."""
    return Rect(value.x, value.y, value.w, value.h) if value.w > 0 else None


def _to_region(rect: Rect | None) -> renderer_pb2.Region | None:
    return renderer_pb2.Region(x=rect.x, y=rect.y, w=rect.w, h=rect.h) if rect is not None else None


def spec_from_request(req: renderer_pb2.RenderRequest) -> RenderSpec:
    """The plain spec of a request; unset style messages mean "the renderer's defaults"."""
    style = req.style
    crop, brand = style.crop, style.brand
    roi = Rect(crop.roi_x, crop.roi_y, crop.roi_w, crop.roi_h) if crop.roi_w > 0 else None
    intro = style.intro if style.HasField("intro") else None
    caps = style.captions if style.HasField("captions") else None
    return RenderSpec(
        source_path=req.source_path,
        start=req.start,
        end=req.end,
        output_path=req.output_path,
        title=req.title,
        module=req.module,
        session_name=req.session_name,
        aspect=_aspect(style.aspect),
        x_center=crop.x_center if crop.HasField("x_center") else None,
        roi=roi,
        layout=_layout(style.layout),
        slide=_region(style.slide),
        speaker=_region(style.speaker),
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
        layout=event.layout.proto,
        slide=_to_region(event.slide),
        speaker=_to_region(event.speaker),
    )
    return renderer_pb2.RenderResponse(result=result)


class RendererServicer(renderer_pb2_grpc.RendererServiceServicer):
    """RendererService over one engine, at most `limiter.max_concurrency` encodes at a time."""

    def __init__(self, engine: RenderEngine, limiter: ConcurrencyLimiter) -> None:
        self.engine = engine
        self.limiter = limiter

    async def Render(
        self,
        request: renderer_pb2.RenderRequest,
        context: grpc.aio.ServicerContext[renderer_pb2.RenderRequest, renderer_pb2.RenderResponse],
    ) -> AsyncIterator[renderer_pb2.RenderResponse]:
        """Stream progress, then the result."""
        spec = spec_from_request(request)

        def work(emit: Emit[RenderProgress], cancel: threading.Event) -> RenderOutcome:
            return self.engine.render(spec, emit, cancel)

        async for event in guarded_stream(context, self.limiter, lambda: run_in_thread_streaming(work)):
            yield to_response(event)

    def register(self, server: grpc.aio.Server) -> None:
        """Add this servicer to a gRPC server."""
        renderer_pb2_grpc.add_RendererServiceServicer_to_server(self, server)
