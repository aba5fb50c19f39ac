"""Settings shared by every AIAT process (all read from `AIAT_*` environment variables)."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AiatSettings(BaseSettings):
    """Base for every service's settings: the `AIAT_` prefix and the common fields."""

    model_config = SettingsConfigDict(env_prefix="AIAT_", extra="ignore", populate_by_name=True)

    # Fixed env names, so a service's own prefix (AIAT_RENDERER_...) does not apply to them.
    data_dir: Path = Field(Path("./var"), validation_alias="AIAT_DATA_DIR")
    log_level: str = Field("INFO", validation_alias="AIAT_LOG_LEVEL")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {value!r}")
        return level

    @property
    def media_root(self) -> Path:
        """Root of the shared media store (sources, transcripts, rendered snippets)."""
        return self.data_dir.resolve() / "media"


class GrpcServiceSettings(AiatSettings):
    """Common settings of a gRPC engine service; each service sets its own env prefix."""

    host: str = "127.0.0.1"
    port: int = 0
    metrics_port: int | None = None
    max_concurrency: int = 1
    max_queue: int = 16
    grace_seconds: float = 30.0

    @field_validator("max_concurrency")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value


def configure_logging(level: str) -> None:
    """Plain, one-line-per-record logging to stderr."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
