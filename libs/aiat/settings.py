"""Settings shared by every AIAT process (all read from `AIAT_*` environment variables)."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field, field_validator, model_validator
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
    # Where /metrics listens; unset = the service's own host (never all interfaces unless host says so).
    metrics_host: str | None = None
    max_concurrency: int = 1
    max_queue: int = 16
    grace_seconds: float = 30.0
    # After this long (gRPC adds ±10 % jitter) the server sends GOAWAY on a connection, so clients
    # reconnect and re-resolve `dns:///` targets: new replicas get calls, departed ones are dropped.
    # GOAWAY only stops new calls on that connection; 0 = never.
    max_connection_age_seconds: float = Field(300.0, validation_alias="AIAT_GRPC_MAX_CONNECTION_AGE_SECONDS")
    # How long calls already running on an aged connection may go on before gRPC cuts it. A render or
    # a transcription streams for up to its client deadline (AIAT_TRANSCRIBE_TIMEOUT_SECONDS, 4 h), so
    # the default is that deadline: rebalancing never cancels work; SIGTERM drains by grace_seconds.
    max_connection_age_grace_seconds: float = Field(
        4 * 3600.0, validation_alias="AIAT_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS"
    )

    # Server reflection (grpcurl without the .proto files); the production overlay turns it off.
    reflection: bool = Field(True, validation_alias="AIAT_GRPC_REFLECTION")
    # TLS: the server's certificate chain and key (PEM); with a client CA, mutual TLS (clients must
    # present a certificate signed by it). Unset = plaintext, as within one node or behind a mesh.
    tls_cert: Path | None = Field(None, validation_alias="AIAT_GRPC_TLS_CERT")
    tls_key: Path | None = Field(None, validation_alias="AIAT_GRPC_TLS_KEY")
    tls_client_ca: Path | None = Field(None, validation_alias="AIAT_GRPC_TLS_CLIENT_CA")

    @field_validator("tls_cert", "tls_key", "tls_client_ca", "metrics_host", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _tls_complete(self) -> GrpcServiceSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("AIAT_GRPC_TLS_CERT and AIAT_GRPC_TLS_KEY go together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("AIAT_GRPC_TLS_CLIENT_CA needs AIAT_GRPC_TLS_CERT and AIAT_GRPC_TLS_KEY")
        return self

    @field_validator("max_concurrency")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("max_connection_age_seconds", "max_connection_age_grace_seconds")
    @classmethod
    def _age_not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must not be negative")
        return value


def configure_logging(level: str) -> None:
    """Plain, one-line-per-record logging to stderr."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
