"""Encoder choice by real test encodes (this machine has no NVENC: `auto` falls back to libx264)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from aiat.errors import StartupError
from aiat.media import ffmpeg_exe
from aiat_renderer import encoders
from aiat_renderer.encoders import detect_encoder, encoder_for
from aiat_renderer.settings import RendererSettings


def test_encoder_arguments_follow_the_settings() -> None:
    settings = RendererSettings(x264_preset="veryfast", x264_crf=18, nvenc_cq=30, hw_decode=False)
    x264 = encoder_for("libx264", settings)
    assert x264.args == ("-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high")
    nvenc = encoder_for("h264_nvenc", settings)
    assert "30" in nvenc.args and nvenc.decode_args == ()
    assert encoder_for("h264_nvenc", settings.model_copy(update={"hw_decode": True})).decode_args == (
        "-hwaccel",
        "cuda",
    )
    with pytest.raises(ValueError, match="unknown encoder"):
        encoder_for("mpeg2", settings)


def test_trial_encode_says_why_an_encoder_fails() -> None:
    settings = RendererSettings()
    assert encoders.trial_encode(ffmpeg_exe(), encoder_for("libx264", settings), 30) is None
    reason = encoders.trial_encode("/no/such/ffmpeg", encoder_for("libx264", settings), 30)
    assert reason is not None and "FileNotFoundError" in reason


def test_auto_falls_back_to_libx264_and_reports_it() -> None:
    encoder = detect_encoder(ffmpeg_exe(), RendererSettings(encoder="auto"))
    assert encoder.name == "libx264"
    assert REGISTRY.get_sample_value("aiat_renderer_nvenc") == 0
    assert REGISTRY.get_sample_value("aiat_renderer_encoder_info", {"encoder": "libx264", "hw_decode": "false",
                                                                     "ffmpeg": ffmpeg_exe()}) == 1  # fmt: skip


def test_no_working_encoder_is_a_startup_error() -> None:
    with pytest.raises(StartupError, match=r"no working H\.264 encoder: libx264: FileNotFoundError"):
        detect_encoder("/no/such/ffmpeg", RendererSettings(encoder="libx264"))
