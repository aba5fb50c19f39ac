"""The servicer's request mapping: unset style fields mean the renderer's defaults."""

from __future__ import annotations

from aiat.renderer.v1 import renderer_pb2
from aiat_renderer.layout import Rect
from aiat_renderer.servicer import spec_from_request, to_response
from aiat_renderer.spec import RenderOutcome, RenderProgress


def test_spec_from_request_defaults_and_overrides() -> None:
    job = spec_from_request(
        renderer_pb2.RenderRequest(source_path="a.mp4", start=1, end=2, output_path="o.mp4")
    )
    assert job.aspect is None and job.intro_enabled is None and job.captions_enabled is None
    assert job.normalize_audio is None and job.x_center is None and job.roi is None
    style = renderer_pb2.RenderStyle(
        aspect=renderer_pb2.ASPECT_VERTICAL,
        crop=renderer_pb2.Crop(x_center=0.25, roi_w=10, roi_h=10),
        intro=renderer_pb2.Intro(enabled=False),
        captions=renderer_pb2.Captions(enabled=True, write_srt=False),
        normalize_audio=False,
    )
    job = spec_from_request(renderer_pb2.RenderRequest(style=style))
    assert (job.aspect, job.x_center, job.roi) == ("vertical", 0.25, Rect(0, 0, 10, 10))
    assert (job.intro_enabled, job.captions_enabled, job.write_srt, job.normalize_audio) == (
        False,
        True,
        False,
        False,
    )


def test_an_aspect_newer_than_the_renderer_means_its_default() -> None:
    style = renderer_pb2.RenderStyle(aspect=99)  # type: ignore[arg-type]
    assert spec_from_request(renderer_pb2.RenderRequest(style=style)).aspect is None


def test_engine_events_become_responses() -> None:
    progress = to_response(RenderProgress(1.5, 3.0, "encoding"))
    assert progress.WhichOneof("event") == "progress"
    assert (progress.progress.done, progress.progress.total, progress.progress.unit) == (1.5, 3.0, "seconds")
    assert progress.progress.stage == "encoding"
    outcome = RenderOutcome("out/a.mp4", 2.0, 1234, "libx264", "out/a.srt", 1080, 1920)
    result = to_response(outcome).result
    assert (result.output_path, result.size_bytes, result.encoder, result.srt_path) == (
        "out/a.mp4",
        1234,
        "libx264",
        "out/a.srt",
    )
    assert (result.width, result.height, result.duration) == (1080, 1920, 2.0)
