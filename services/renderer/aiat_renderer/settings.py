"""Renderer settings, read from `AIAT_RENDERER_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from aiat.aspect import Aspect
from aiat.framing import Layout
from aiat.settings import GrpcServiceSettings

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


class RendererSettings(GrpcServiceSettings):
    """Encoder choice, defaults for the render style, and the brand used when a request names none."""

    model_config = SettingsConfigDict(env_prefix="AIAT_RENDERER_", extra="ignore", populate_by_name=True)

    port: int = 50053
    # Encoding.
    encoder: Literal["auto", "libx264", "h264_nvenc"] = "auto"
    x264_preset: str = "superfast"
    x264_crf: int = Field(21, ge=0, le=51)
    nvenc_preset: str = "p4"
    nvenc_cq: int = Field(23, ge=0, le=51)
    hw_decode: bool = True
    audio_bitrate: str = "128k"
    encoder_probe_timeout: float = 30.0

    # Style defaults (a request's empty/unset fields fall back to these).
    default_aspect: Aspect = Aspect.LANDSCAPE
    landscape_max_height: int = 1080
    square_size: int = 1080
    default_layout: Layout = Layout.AUTO
    analysis_samples: int = Field(16, ge=2, le=120)
    analysis_timeout_seconds: float = Field(15.0, gt=0, le=600)
    fit_fill: Literal["blur", "brand"] = "blur"
    intro_enabled: bool = True
    intro_seconds: float = Field(2.0, gt=0, le=30)
    intro_video: str = ""
    captions_enabled: bool = True
    captions_highlight: bool = True
    captions_write_srt: bool = True
    normalize_audio: bool = True
    loudnorm: str = "I=-16:TP=-1.5:LRA=11"

    # Brand defaults.
    font: str = str(DEJAVU / "DejaVuSans-Bold.ttf")
    font_dirs: list[Path] = Field(default_factory=lambda: [Path(p) for p in FONT_DIRS])
    text_color: str = "white"
    accent_color: str = "#1f4e99"
    highlight_color: str = "#ffd400"
    title_position: Literal["top", "bottom"] = "top"
    logo_path: str = ""

    @field_validator("loudnorm")
    @classmethod
    def _plain_loudnorm(cls, value: str) -> str:
        allowed = set("IiTPLRAlinear=:.-0123456789truefals")
        if not value or not set(value) <= allowed:
            raise ValueError("loudnorm takes only key=value pairs such as I=-16:TP=-1.5:LRA=11")
        return value
