"""Bare FFmpeg vs the renderer service through gRPC on the same 60 s cut of the same generated source.

Run: `python -m benchmarks.renderer [--seconds 60] [--aspect vertical] [--layouts auto,crop,fit,stack]
[--source lecture|counter] [--repeat 1]`. Prints a table per layout and a final JSON line. The bare run executes
exactly the command the engine plans (same filters and encoder); the layout analysis is timed on its own.
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
from aiat.framing import Layout
from aiat.media import probe
from aiat.renderer.v1 import renderer_pb2, renderer_pb2_grpc
from aiat_renderer.engine import FfmpegEngine, build_engine
from aiat_renderer.regions import analyze
from aiat_renderer.server import create_app
from aiat_renderer.servicer import spec_from_request
from aiat_renderer.settings import RendererSettings
from tests.fixtures.grpc_app import serving
from tests.fixtures.media import counter_video
from tests.renderer.slides import slide_lecture

WORDS = "the lecture explains how energy is conserved when the pendulum swings back and forth".split()


def make_request(seconds: float, aspect: Aspect, layout: Layout = Layout.AUTO) -> renderer_pb2.RenderRequest:
    """A 60 s cut with title, captions (a word every 0.4 s), the default intro and loudnorm."""
    start = 2.0
    words = [
        transcript_pb2.Word(start=start + 0.4 * i, end=start + 0.4 * i + 0.35, text=WORDS[i % len(WORDS)])
        for i in range(int(seconds / 0.4))
    ]
    style = renderer_pb2.RenderStyle(aspect=aspect.proto, layout=layout.proto)
    return renderer_pb2.RenderRequest(
        source_path="source.mp4", start=start, end=start + seconds, output_path="output/service.mp4",
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
    """Generate the source, time both paths per layout, print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--aspect", type=Aspect, choices=list(Aspect), default=Aspect.VERTICAL)
    parser.add_argument("--layouts", default="auto,crop,fit,stack")
    parser.add_argument("--source", choices=("lecture", "counter"), default="lecture")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--source-size", default="1280x720")
    args = parser.parse_args()
    width, height = (int(x) for x in args.source_size.split("x"))
    layouts = [Layout(name) for name in args.layouts.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-renderer-") as tmp:
        root = Path(tmp) / "media"
        t0 = time.perf_counter()
        if args.source == "lecture":  # slides with title and bullets, a moving speaker inset; 1280x720
            slide_lecture(root / "source.mp4", args.seconds + 4)
        else:
            counter_video(root / "source.mp4", args.seconds + 4, fps=25, width=width, height=height)
        gen = time.perf_counter() - t0
        settings = RendererSettings(data_dir=Path(tmp), port=0)
        engine = build_engine(settings)
        engine.load()
        rows = []
        for layout in layouts:
            req = make_request(args.seconds, args.aspect, layout)
            bare, service = [], []
            for i in range(args.repeat):  # alternate the order so a load spike does not favour one path
                if i % 2:
                    service.append(asyncio.run(run_service(engine, settings, req)))
                bare.append(run_bare(engine, req, root / "output" / "bare.mp4"))
                if not i % 2:
                    service.append(asyncio.run(run_service(engine, settings, req)))
            t0 = time.perf_counter()
            found = analyze(root / "source.mp4", req.start, args.seconds, samples=settings.analysis_samples)
            analysis = time.perf_counter() - t0
            with tempfile.TemporaryDirectory() as plan_dir:
                framing = engine.command(spec_from_request(req), Path(plan_dir)).framing
            used = framing.layout if framing is not None else layout
            out = probe(root / "output" / "service.mp4")
            b, s = min(bare), min(service)
            rows.append({
                "layout": str(layout), "used": str(used), "bare_s": round(b, 3), "service_s": round(s, 3),
                "ratio": round((s - analysis) / b, 4), "ratio_with_analysis": round(s / b, 4), "analysis_s": round(analysis, 3), "analysis_share": round(analysis / b, 4),
                "x_realtime": round(out.duration / s, 3), "slides": found.has_slides,
            })  # fmt: skip
        print(f"source {args.source} generated in {gen:.1f}s; cut {args.seconds:.0f}s + intro -> "
              f"{out.width}x{out.height}, {out.duration:.2f}s, encoder {engine.encoder_name}, "
              f"{os.cpu_count()} CPUs, best of {args.repeat}")  # fmt: skip
        print(
            f"{'layout':<14} {'bare s':>8} {'service s':>10} {'ratio':>7} {'analysis s':>11} {'incl.':>7} {'x realtime':>11}"
        )
        for r in rows:
            name = f"{r['layout']}->{r['used']}" if r["layout"] != r["used"] else str(r["layout"])
            print(f"{name:<14} {r['bare_s']:>8.2f} {r['service_s']:>10.2f} {r['ratio']:>7.3f} "
                  f"{r['analysis_s']:>11.2f} {r['ratio_with_analysis']:>7.3f} {r['x_realtime']:>11.2f}")  # fmt: skip
        print(
            json.dumps(
                {
                    "benchmark": "renderer", "encoder": engine.encoder_name, "aspect": args.aspect,
                    "source": args.source, "cut_seconds": args.seconds, "output_seconds": round(out.duration, 3),
                    "width": out.width, "height": out.height, "cpus": os.cpu_count(), "layouts": rows,
                }
            )
        )  # fmt: skip


if __name__ == "__main__":
    main()
