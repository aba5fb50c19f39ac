"""Bare faster-whisper vs the transcriber gRPC service on the same audio (`make bench-transcriber`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from aiat.media import probe
from aiat.transcriber.v1 import transcriber_pb2, transcriber_pb2_grpc
from aiat_transcriber.engine import WhisperConfig, build_engine
from aiat_transcriber.models import resolve_device, resolve_model
from aiat_transcriber.server import create_app
from aiat_transcriber.settings import TranscriberSettings
from tests.fixtures.grpc_app import serving
from tests.fixtures.media import speech_wav
from tests.transcriber.wer import word_error_rate

LECTURE = """
Good morning everyone. Today we continue our course on classical mechanics, and the topic of this
lecture is energy. Energy is one of the most useful ideas in all of physics, because it lets us solve
problems without following every force at every moment. Let us start with kinetic energy. A body of
mass m that moves with speed v carries a kinetic energy equal to one half m v squared. If you double
the speed, the kinetic energy becomes four times larger. This is why a car at high speed is so much
more dangerous than a car that moves slowly. Next we look at potential energy. When you lift a book
from the floor to a shelf, you do work against gravity. That work is stored as gravitational
potential energy, and it equals m g h, the mass times the gravitational acceleration times the
height. If the book falls, the potential energy turns back into kinetic energy. Now we come to the
central idea of today. In a closed system without friction, the total mechanical energy stays the
same. Kinetic energy and potential energy can change into each other, but their sum does not change.
We call this the conservation of mechanical energy. Think of a pendulum. At the highest point it
stops for a moment, and all of its energy is potential energy. At the lowest point it moves fastest,
and all of its energy is kinetic. In between, the energy is shared between the two forms. Of course,
real pendulums slow down and stop. Friction and air resistance turn some mechanical energy into
heat. The energy is not lost, it only changes its form. This is the more general law of conservation
of energy, and no experiment has ever found it to fail. Let me give you a small exercise for next
week. A ball rolls down a ramp of height two meters. Ignore friction and find its speed at the
bottom. Then think about what changes when friction is present. We will discuss your answers at the
start of the next lecture. Thank you for your attention, and see you next week.
"""


class BareLibrary:
    """faster-whisper used directly, with the same model and options as the service."""

    def __init__(self, config: WhisperConfig) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.config = config
        device = resolve_device(config.device)
        model_path, _ = resolve_model(config.model, config.model_dir, device)
        compute_type = config.compute_type
        if compute_type == "auto":
            compute_type = "float16" if device == "cuda" else "int8"
        model = WhisperModel(
            model_path,
            device=device,
            compute_type=compute_type,
            cpu_threads=config.cpu_threads or len(os.sched_getaffinity(0)),
            local_files_only=True,
        )
        self.batch_size = config.batch_size or (16 if device == "cuda" else 1)
        self.runner: Any = BatchedInferencePipeline(model) if self.batch_size > 1 else model

    def run(self, audio: Path) -> tuple[float, str]:
        """One library call on the file (decode, transcribe, consume every segment); (seconds, text)."""
        extra = {"batch_size": self.batch_size} if self.batch_size > 1 else {}
        start = time.perf_counter()
        segments, _ = self.runner.transcribe(
            str(audio),
            beam_size=self.config.beam_size,
            vad_filter=self.config.vad_filter,
            word_timestamps=True,
            **extra,
        )
        text = " ".join(s.text.strip() for s in segments)
        return time.perf_counter() - start, text


async def service_call(
    stub: transcriber_pb2_grpc.TranscriberServiceStub, media_path: str
) -> tuple[float, str, int]:
    """One Transcribe call through gRPC; (seconds, text, progress events)."""
    start = time.perf_counter()
    progress = 0
    transcript = None
    async for event in stub.Transcribe(transcriber_pb2.TranscribeRequest(media_path=media_path)):
        if event.WhichOneof("event") == "progress":
            progress += 1
        else:
            transcript = event.transcript
    elapsed = time.perf_counter() - start
    assert transcript is not None
    return elapsed, " ".join(s.text for s in transcript.segments), progress


def prepare(args: argparse.Namespace, data_dir: Path) -> tuple[Path, str]:
    """The audio in the media store under `data_dir`, and its reference text ("" when unknown)."""
    media = data_dir / "media"
    media.mkdir(parents=True)
    if args.audio:
        audio = Path(args.audio).resolve()
        (media / audio.name).symlink_to(audio)
        return media / audio.name, ""
    return speech_wav(" ".join(LECTURE.split()), media / "lecture.wav"), LECTURE


async def bench(args: argparse.Namespace, data_dir: Path, audio: Path, reference: str) -> dict[str, Any]:
    """Alternate bare and service runs on the same audio; medians of each."""
    duration = probe(audio).duration
    settings = TranscriberSettings(
        data_dir=data_dir,
        port=0,
        model=args.model,
        device=args.device,
        compute_type=args.compute_type,
        batch_size=args.batch_size,
        beam_size=args.beam_size,
    )
    engine = build_engine(settings)
    bare_times: list[float] = []
    service_times: list[float] = []
    bare_text = service_text = ""
    progress_events = 0
    async with serving(create_app(settings, engine), engine) as port:
        bare = await asyncio.to_thread(BareLibrary, WhisperConfig.from_settings(settings))
        await asyncio.to_thread(bare.run, audio)  # warm-up, not counted
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = transcriber_pb2_grpc.TranscriberServiceStub(channel)
            for _ in range(args.rounds):
                seconds, bare_text = await asyncio.to_thread(bare.run, audio)
                bare_times.append(seconds)
                seconds, service_text, progress_events = await service_call(stub, audio.name)
                service_times.append(seconds)
        engine_name = engine.name
    bare_median = statistics.median(bare_times)
    service_median = statistics.median(service_times)
    return {
        "machine": f"{platform.machine()} {len(os.sched_getaffinity(0))} CPUs",
        "engine": engine_name,
        "audio_seconds": round(duration, 2),
        "rounds": args.rounds,
        "bare_seconds": round(bare_median, 3),
        "service_seconds": round(service_median, 3),
        "ratio": round(service_median / bare_median, 4),
        "overhead_percent": round((service_median / bare_median - 1) * 100, 2),
        "bare_rtf": round(bare_median / duration, 4),
        "service_rtf": round(service_median / duration, 4),
        "service_x_real_time": round(duration / service_median, 1),
        "progress_events": progress_events,
        "bare_wer": round(word_error_rate(reference, bare_text), 4) if reference else None,
        "service_wer": round(word_error_rate(reference, service_text), 4) if reference else None,
        "bare_times": [round(t, 3) for t in bare_times],
        "service_times": [round(t, 3) for t in service_times],
    }


def _table(result: dict[str, Any]) -> str:
    rows = [
        ("engine", result["engine"]),
        ("audio", f"{result['audio_seconds']:.1f} s"),
        ("bare faster-whisper", f"{result['bare_seconds']:.2f} s  (RTF {result['bare_rtf']:.3f})"),
        ("service via gRPC", f"{result['service_seconds']:.2f} s  (RTF {result['service_rtf']:.3f})"),
        ("ratio service/bare", f"{result['ratio']:.3f}  ({result['overhead_percent']:+.1f} %)"),
        ("speed", f"{result['service_x_real_time']}x real time"),
        ("WER bare / service", f"{result['bare_wer']} / {result['service_wer']}"),
        ("runs (bare | service)", f"{result['bare_times']} | {result['service_times']}"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main() -> None:
    """Run the benchmark, print a table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audio", help="media file to use instead of the generated espeak-ng lecture")
    parser.add_argument("--rounds", type=int, default=3, help="bare/service pairs to run (median reported)")
    parser.add_argument("--model", default="", help="model dir or cached name; default: tiny.en on CPU")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--compute-type", default="auto")
    parser.add_argument("--batch-size", type=int, default=0)
    parser.add_argument("--beam-size", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiat-bench-") as tmp:
        audio, reference = prepare(args, Path(tmp))
        result = asyncio.run(bench(args, Path(tmp), audio, reference))
    print(_table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
