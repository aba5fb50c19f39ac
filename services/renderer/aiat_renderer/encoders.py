"""Video encoder choice: h264_nvenc when a real test encode works, else libx264; reported in metrics."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass

from prometheus_client import Gauge, Info

from aiat.errors import StartupError
from aiat.procs import dying_with_this_process
from aiat_renderer.settings import RendererSettings

log = logging.getLogger(__name__)

ENCODER_INFO = Info("aiat_renderer_encoder", "Video encoder chosen at start-up by a test encode")
NVENC_ACTIVE = Gauge("aiat_renderer_nvenc", "1 when the renderer encodes with h264_nvenc, 0 for libx264")


@dataclass(frozen=True)
class Encoder:
    """A working H.264 encoder and the FFmpeg arguments that use it."""

    name: str
    args: tuple[str, ...]
    decode_args: tuple[str, ...] = ()


def encoder_for(name: str, settings: RendererSettings) -> Encoder:
    """The encoder arguments for `name` with the configured quality settings."""
    if name == "h264_nvenc":
        args: tuple[str, ...] = (
            "-c:v", "h264_nvenc", "-preset", settings.nvenc_preset, "-tune", "hq",
            "-rc", "vbr", "-cq", str(settings.nvenc_cq), "-b:v", "0", "-profile:v", "high",
        )  # fmt: skip
        decode = ("-hwaccel", "cuda") if settings.hw_decode else ()
        return Encoder(name, args, decode)
    if name == "libx264":
        preset, crf = settings.x264_preset, str(settings.x264_crf)
        args = ("-c:v", "libx264", "-preset", preset, "-crf", crf, "-profile:v", "high")
        return Encoder(name, args)
    raise ValueError(f"unknown encoder {name!r}")


def trial_encode(ffmpeg: str, encoder: Encoder, timeout: float) -> str | None:
    """Encode a few frames to nowhere; None when it worked, else the reason it did not."""
    cmd = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "lavfi", "-i", "color=c=black:s=256x256:r=25:d=0.2",
        *encoder.args, "-pix_fmt", "yuv420p", "-f", "null", "-",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            dying_with_this_process(cmd),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{exc.__class__.__name__}: {exc}"
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return None


def detect_encoder(ffmpeg: str, settings: RendererSettings) -> Encoder:
    """Pick the encoder by real test encodes: NVENC first when `auto`, libx264 as the fallback."""
    wanted = ["h264_nvenc", "libx264"] if settings.encoder == "auto" else [settings.encoder]
    reasons = []
    for name in wanted:
        encoder = encoder_for(name, settings)
        reason = trial_encode(ffmpeg, encoder, settings.encoder_probe_timeout)
        if reason is None:
            report(encoder, ffmpeg)
            return encoder
        log.info("encoder %s unavailable: %s", name, reason)
        reasons.append(f"{name}: {reason}")
    raise StartupError("no working H.264 encoder: " + "; ".join(reasons))


def report(encoder: Encoder, ffmpeg: str) -> None:
    """Log the choice and export it on /metrics."""
    hw_decode = str(bool(encoder.decode_args)).lower()
    ENCODER_INFO.info({"encoder": encoder.name, "hw_decode": hw_decode, "ffmpeg": ffmpeg})
    NVENC_ACTIVE.set(1 if encoder.name == "h264_nvenc" else 0)
    log.info("video encoder: %s (%s)", encoder.name, " ".join(encoder.args))
