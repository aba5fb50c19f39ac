"""The FFmpeg engine: real renders through the in-process gRPC server, checked by decoding the output."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import grpc
import numpy as np
import pytest

from aiat.common.v1 import transcript_pb2
from aiat.errors import EngineUnavailable
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from aiat_renderer.engine import FfmpegEngine, build_engine
from aiat_renderer.settings import RendererSettings
from aiat_renderer.spec import RenderSpec
from tests.renderer.conftest import FPS, Serve
from tests.renderer.media_checks import audio_onset, center_band, gray_frames, inspect, top_level_boxes

Stub = renderer_pb2_grpc.RendererServiceStub
FRAME = 1 / FPS

NO_INTRO = renderer_pb2.Intro(enabled=False)
NO_CAPTIONS = renderer_pb2.Captions(enabled=False)


def request(**kw: object) -> renderer_pb2.RenderRequest:
    """A request for clip.mp4 with test defaults overridable by keyword."""
    base: dict[str, object] = {
        "source_path": "clip.mp4",
        "start": 1.0,
        "end": 3.0,
        "output_path": "output/x.mp4",
    }
    base.update(kw)
    return renderer_pb2.RenderRequest(**base)  # type: ignore[arg-type]


async def render(
    stub: Stub, req: renderer_pb2.RenderRequest
) -> tuple[list[transcript_pb2.Progress], renderer_pb2.RenderResult]:
    """Run one render; the progress events and the single result."""
    progress, results = [], []
    async for event in stub.Render(req, timeout=120):
        if event.HasField("progress"):
            progress.append(event.progress)
        else:
            results.append(event.result)
    assert len(results) == 1
    return progress, results[0]


def best_source_match(media_root: Path, out: Path, out_index: int, source_index: int) -> int:
    """Which source frame near `source_index` the output frame `out_index` matches best (centre band)."""
    got = center_band(gray_frames(out, {out_index})[out_index])
    candidates = {source_index - 1, source_index, source_index + 1}
    source = gray_frames(media_root / "clip.mp4", candidates)
    diffs = {i: float(np.abs(center_band(img) - got).mean()) for i, img in source.items()}
    return min(diffs, key=lambda i: diffs[i])


async def test_landscape_cut_is_frame_accurate(stub: Stub, media_root: Path) -> None:
    words = [
        transcript_pb2.Word(start=1.2 + 0.3 * i, end=1.45 + 0.3 * i, text=w)
        for i, w in enumerate("a b c d".split())
    ]
    style = renderer_pb2.RenderStyle(
        intro=NO_INTRO, captions=renderer_pb2.Captions(enabled=True, write_srt=True)
    )
    progress, result = await render(stub, request(start=1.03, end=3.0, title="Cut", words=words, style=style))
    out = media_root / result.output_path
    info = inspect(out)
    assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
    assert (info.width, info.height) == (320, 180) == (result.width, result.height)
    # 1.03 s snaps to frame 26 (1.04 s); the output is frames 26..74 exactly.
    assert info.frames == 49
    assert abs(info.audio_seconds - info.video_seconds) <= FRAME
    assert abs(result.duration - (3.0 - 1.04)) <= FRAME
    assert best_source_match(media_root, out, 0, 26) == 26
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")
    assert result.encoder == "libx264" and result.size_bytes == out.stat().st_size
    assert progress and all(p.unit == "seconds" for p in progress)
    assert progress[-1].done == pytest.approx(progress[-1].total)
    srt = (media_root / result.srt_path).read_text()
    assert result.srt_path == "output/x.srt"
    assert srt.startswith("1\n00:00:00,160 --> ") and "a b c d" in srt
    assert not [p for p in out.parent.iterdir() if ".part" in p.name]


async def test_intro_seam_and_duration(stub: Stub, media_root: Path) -> None:
    words = [transcript_pb2.Word(start=1.5, end=1.9, text="seam")]
    style = renderer_pb2.RenderStyle(intro=renderer_pb2.Intro(enabled=True, seconds=1.0))
    req = request(
        start=1.0, end=2.0, title="Intro", module="Physics", session_name="Week 1", words=words, style=style
    )
    _, result = await render(stub, req)
    out = media_root / result.output_path
    info = inspect(out)
    assert info.frames == 50  # 25 card frames + 25 snippet frames
    assert abs(info.audio_seconds - 2.0) <= FRAME
    frames = gray_frames(out, {0, 24, 25})
    assert float(frames[24].std()) < 25  # still the flat title card
    assert best_source_match(media_root, out, 25, 25) == 25  # first frame after the card is the cut start
    srt = (media_root / result.srt_path).read_text()
    assert "00:00:01,500 --> " in srt  # caption times include the intro


async def test_intro_video_file(stub: Stub, media_root: Path) -> None:
    style = renderer_pb2.RenderStyle(
        intro=renderer_pb2.Intro(enabled=True, video_path="intro.mp4"), captions=NO_CAPTIONS
    )
    _, result = await render(stub, request(start=2.0, end=3.0, style=style))
    info = inspect(media_root / result.output_path)
    assert info.frames == 50
    assert best_source_match(media_root, media_root / result.output_path, 25, 50) == 50


@pytest.mark.parametrize(
    ("aspect", "size"),
    [(renderer_pb2.ASPECT_VERTICAL, (1080, 1920)), (renderer_pb2.ASPECT_SQUARE, (1080, 1080))],
)
async def test_presets(stub: Stub, media_root: Path, aspect: int, size: tuple[int, int]) -> None:
    words = [
        transcript_pb2.Word(start=1.0, end=1.3, text="vertical"),
        transcript_pb2.Word(start=1.3, end=1.5, text="ok"),
    ]
    crop = renderer_pb2.Crop(x_center=0.3)
    style = renderer_pb2.RenderStyle(aspect=aspect, crop=crop, intro=NO_INTRO)  # type: ignore[arg-type]
    _, result = await render(stub, request(start=1.0, end=1.6, title="Preset", words=words, style=style))
    info = inspect(media_root / result.output_path)
    assert (info.width, info.height) == size == (result.width, result.height)
    assert info.frames == 15


TRICKY_TITLES = [
    'It\'s "quoted": 100% done, [really]; ok',
    "back\\slash \\N %{pts} %% {braces} ${HOME} `tick`",
    "emoji 🎓🚀 and ünïcödé",
    "مرحبا بالعالم — שלום עולם",
    "drawtext=text=x:fontfile=/etc/passwd,drawbox;[0:v]",
]


@pytest.mark.parametrize("title", TRICKY_TITLES)
async def test_titles_are_escaped(stub: Stub, media_root: Path, title: str) -> None:
    words = [
        transcript_pb2.Word(start=1.1, end=1.4, text=title[:12]),
        transcript_pb2.Word(start=1.4, end=1.6, text="{x}\\N"),
    ]
    style = renderer_pb2.RenderStyle(intro=renderer_pb2.Intro(enabled=True, seconds=0.2))
    req = request(start=1.0, end=1.4, title=title, module=title, session_name=title, words=words, style=style,
                  output_path=f"output/{title[:6]}'s: 50%.mp4")  # fmt: skip
    _, result = await render(stub, req)
    assert (media_root / result.output_path).is_file()
    assert inspect(media_root / result.output_path).frames == 15


async def test_brand_logo_and_bottom_title(stub: Stub, media_root: Path) -> None:
    brand = renderer_pb2.Brand(
        font="DejaVu Serif",
        text_color="#ffee00",
        accent_color="DarkOrange",
        title_position="bottom",
        logo_path="logo.png",
    )
    style = renderer_pb2.RenderStyle(brand=brand, intro=NO_INTRO, normalize_audio=False)
    words = [transcript_pb2.Word(start=1.0, end=1.3, text="top")]
    _, result = await render(stub, request(start=1.0, end=1.6, title="Logo", words=words, style=style))
    frame = gray_frames(media_root / result.output_path, {0})[0]
    assert inspect(media_root / result.output_path).frames == 15
    assert frame.shape == (180, 320)


async def test_audio_stays_in_sync(stub: Stub, media_root: Path) -> None:
    # beep.mp4 beeps at 2.0 s; cut from 1.0 s after a 1.0 s intro: the beep must be at 2.0 s.
    style = renderer_pb2.RenderStyle(intro=renderer_pb2.Intro(enabled=True, seconds=1.0))
    _, result = await render(stub, request(source_path="beep.mp4", start=1.0, end=3.5, style=style))
    assert abs(audio_onset(media_root / result.output_path) - 2.0) <= FRAME


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"start": 2.0, "end": 2.0}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"start": 3.0, "end": 1.0}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"start": 1.0, "end": 60.0}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"start": -1.0, "end": 1.0}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"source_path": "missing.mp4"}, grpc.StatusCode.NOT_FOUND),
        ({"source_path": "broken.mp4"}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"source_path": "../etc/passwd"}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"output_path": "/tmp/abs.mp4"}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"output_path": "output/x.mov"}, grpc.StatusCode.INVALID_ARGUMENT),
        (
            {"style": renderer_pb2.RenderStyle(brand=renderer_pb2.Brand(text_color="red:x=1"))},
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            {"style": renderer_pb2.RenderStyle(brand=renderer_pb2.Brand(font="/etc/passwd"))},
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            {"style": renderer_pb2.RenderStyle(brand=renderer_pb2.Brand(logo_path="nope.png"))},
            grpc.StatusCode.NOT_FOUND,
        ),
    ],
)
async def test_error_codes(
    stub: Stub, media_root: Path, kw: dict[str, object], code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await render(stub, request(**{"output_path": "output/err.mp4", **kw}))
    assert err.value.code() == code
    assert not (media_root / "output/err.mp4").exists()


def _long_request(name: str) -> renderer_pb2.RenderRequest:
    style = renderer_pb2.RenderStyle(aspect=renderer_pb2.ASPECT_VERTICAL, intro=NO_INTRO)
    return request(source_path="long.mp4", start=0.0, end=30.0, output_path=f"output/{name}.mp4", style=style)


async def test_cancel_kills_ffmpeg_and_leaves_no_file(stub: Stub, media_root: Path) -> None:
    call = stub.Render(_long_request("cancelled"))
    async for event in call:
        if event.HasField("progress") and event.progress.stage == "encoding":
            break
    call.cancel()
    await asyncio.sleep(1.0)
    leftovers = [
        p.name for p in (media_root / "output").iterdir() if p.name.startswith((".cancelled", "cancelled"))
    ]
    assert leftovers == []


async def test_overloaded_is_resource_exhausted(
    serve: Serve, settings: RendererSettings, media_root: Path
) -> None:
    stub = await serve(settings.model_copy(update={"max_concurrency": 1, "max_queue": 0}))
    first = stub.Render(_long_request("busy"))
    async for event in first:
        if event.HasField("progress"):
            break
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await render(stub, request(output_path="output/second.mp4"))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    first.cancel()
    await asyncio.sleep(1.0)
    assert not (media_root / "output/busy.mp4").exists()


def test_engine_is_unavailable_until_loaded(settings: RendererSettings) -> None:
    with pytest.raises(EngineUnavailable):
        build_engine(settings).render(
            RenderSpec("clip.mp4", 1.0, 2.0, "output/u.mp4"), lambda _: None, threading.Event()
        )


def test_command_covers_intro_and_captions(engine: FfmpegEngine, tmp_path: Path) -> None:
    spec = RenderSpec(
        "clip.mp4", 1.0, 2.0, "output/c.mp4", title="T", intro_enabled=True, intro_seconds=0.4,
        captions_enabled=True, write_srt=True, words=[(1.2, 1.5, "hi")],
    )  # fmt: skip
    command = engine.command(spec, tmp_path)
    assert command.total == pytest.approx(1.4)
    assert command.srt is not None and "00:00:00,600 --> " in command.srt and "hi" in command.srt
    assert command.args[0] == engine.ffmpeg and command.args[-3:] == ["-progress", "pipe:1", "-nostats"]
    assert (tmp_path / "captions.ass").is_file() and (tmp_path / "title0.txt").read_text() == "T"
