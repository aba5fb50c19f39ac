"""Bare FFmpeg vs the renderer service through gRPC on the same 60 s cut of the same generated source.

Run: `python -m benchmarks.renderer [--seconds 60] [--aspect vertical] [--repeat 1]`. Prints a table and a
final JSON line. The bare run executes exactly the command the engine plans (same filters and encoder).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import grpc

from aiat.aspect import Aspect
from aiat.common.v1 import transcript_pb2
from aiat.media import probe
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from aiat_renderer.engine import FfmpegEngine, build_engine
from aiat_renderer.server import create_app
from aiat_renderer.servicer import spec_from_request
from aiat_renderer.settings import RendererSettings
from tests.fixtures.grpc_app import serving
from tests.fixtures.media import counter_video

WORDS = "the lecture explains how energy is conserved when the pendulum swings back and forth".split()


def make_request(seconds: float, aspect: Aspect) -> renderer_pb2.RenderRequest:
    """A 60 s cut with title, captions (a word every 0.4 s), the default intro and loudnorm."""
    start = 2.0
    words = [
        transcript_pb2.Word(start=start + 0.4 * i, end=start + 0.4 * i + 0.35, text=WORDS[i % len(WORDS)])
        for i in range(int(seconds / 0.4))
    ]
    style = renderer_pb2.RenderStyle(aspect=aspect.proto)
    return renderer_pb2.RenderRequest(
        source_path="source.mp4", start=start, end=start + seconds, output_path="out/service.mp4",
        title="Conservation of energy: the pendulum", module="Physics 101", session_name="Lecture 4",
        style=style, words=words,
    )  # fmt: skip


def run_bare(engine: FfmpegEngine, req: renderer_pb2.RenderRequest, out: Path) -> float:
    """Wall seconds of the engine's ffmpeg command run directly."""
    with tempfile.TemporaryDirectory() as tmp:
        command = engine.command(spec_from_request(req), Path(tmp))
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [*command.args, str(out)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


async def run_service(
    engine: FfmpegEngine, settings: RendererSettings, req: renderer_pb2.RenderRequest
) -> float:
    """Wall seconds of one Render call through an in-process gRPC server, call to result."""
    async with serving(create_app(settings, engine)) as port:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = renderer_pb2_grpc.RendererServiceStub(channel)
            t0 = time.perf_counter()
            results = [event async for event in stub.Render(req, timeout=3600) if event.HasField("result")]
            wall = time.perf_counter() - t0
            assert len(results) == 1
            return wall


def main() -> None:
    """Generate the source, time both paths, print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--aspect", type=Aspect, choices=list(Aspect), default=Aspect.VERTICAL)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--source-size", default="1280x720")
    args = parser.parse_args()
    width, height = (int(x) for x in args.source_size.split("x"))

    with tempfile.TemporaryDirectory(prefix="bench-renderer-") as tmp:
        root = Path(tmp) / "media"
        t0 = time.perf_counter()
        counter_video(root / "source.mp4", args.seconds + 4, fps=25, width=width, height=height)
        gen = time.perf_counter() - t0
        settings = RendererSettings(data_dir=Path(tmp), port=0)
        engine = build_engine(settings)
        engine.load()
        req = make_request(args.seconds, args.aspect)
        bare, service = [], []
        for i in range(args.repeat):  # alternate the order so a load spike does not favour one path
            if i % 2:
                service.append(asyncio.run(run_service(engine, settings, req)))
            bare.append(run_bare(engine, req, root / "out" / "bare.mp4"))
            if not i % 2:
                service.append(asyncio.run(run_service(engine, settings, req)))
        out = probe(root / "out" / "service.mp4")
        b, s = min(bare), min(service)
        rows = [
            ("bare ffmpeg (same command)", b, out.duration / b),
            ("service via gRPC", s, out.duration / s),
        ]
        print(f"source {width}x{height} generated in {gen:.1f}s; cut {args.seconds:.0f}s + intro -> "
              f"{out.width}x{out.height}, {out.duration:.2f}s, encoder {engine.encoder_name}, "
              f"{os.cpu_count()} CPUs, best of {args.repeat}")  # fmt: skip
        print(f"{'path':<30} {'wall s':>8} {'x realtime':>11}")
        for name, wall, xrt in rows:
            print(f"{name:<30} {wall:>8.2f} {xrt:>11.2f}")
        print(f"{'ratio service/bare':<30} {s / b:>8.3f}")
        print(
            json.dumps(
                {
                    "benchmark": "renderer", "encoder": engine.encoder_name, "aspect": args.aspect,
                    "cut_seconds": args.seconds, "output_seconds": round(out.duration, 3),
                    "width": out.width, "height": out.height, "bare_s": round(b, 3), "service_s": round(s, 3),
                    "ratio": round(s / b, 4), "bare_x_realtime": round(out.duration / b, 3),
                    "service_x_realtime": round(out.duration / s, 3), "cpus": os.cpu_count(),
                }
            )
        )  # fmt: skip


if __name__ == "__main__":
    main()
