"""Gateway and worker settings (environment variables with the AIAT_ prefix)."""

from __future__ import annotations

from pathlib import Path

from limits import parse_many
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from aiat.aspect import Aspect
from aiat.errors import StartupError
from aiat.settings import AiatSettings
from aiat.tls import ClientTls


class GatewaySettings(AiatSettings):
    """Everything the gateway API and the worker read from the environment."""

    model_config = SettingsConfigDict(env_prefix="AIAT_", extra="ignore", populate_by_name=True)

    database_url: str = ""
    database_connect_timeout_seconds: float = 5.0
    database_pool_timeout_seconds: float = 5.0
    nats_url: str = "nats://127.0.0.1:4222"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    api_keys: SecretStr = SecretStr("")
    api_keys_file: Path | None = None
    auth_disabled: bool = False
    rate_limit: str = "30/minute"
    # Signed media URLs (<video> cannot send a header): empty secret = a random one per process (set it
    # when several gateway replicas serve one studio, or URLs issued by one fail on another).
    media_url_secret: SecretStr = SecretStr("")
    media_url_ttl_seconds: int = Field(default=1800, ge=60, le=3600)

    transcriber_addr: str = "127.0.0.1:50051"
    analyzer_addr: str = "127.0.0.1:50052"
    renderer_addr: str = "127.0.0.1:50053"
    # TLS to the engine services (worker calls, /readyz): on when a CA bundle is set; the client
    # certificate is for servers that require mutual TLS (AIAT_GRPC_TLS_CLIENT_CA on their side).
    grpc_tls_ca: Path | None = None
    grpc_tls_client_cert: Path | None = None
    grpc_tls_client_key: Path | None = None
    grpc_tls_server_name: str = ""

    drive_endpoint: str | None = None
    drive_max_bytes: int = 20 * 1024**3
    drive_timeout_seconds: float = 60.0
    # POST /upload-file: the largest file accepted; unset = AIAT_DRIVE_MAX_BYTES (the same limit as a download).
    upload_max_bytes: int | None = Field(default=None, ge=1)

    media_probe_timeout_seconds: float = 60.0
    media_max_duration_seconds: float = 6 * 3600.0
    media_max_width: int = 4096
    media_max_height: int = 4096
    api_max_body_bytes: int = 1024**2
    api_max_in_flight: int = 10
    api_max_queued: int = 50
    api_queue_wait_seconds: float = 1.0
    api_max_uploads: int = Field(default=4, ge=1)
    upload_read_timeout_seconds: float = Field(default=30.0, gt=0)
    upload_stale_part_seconds: float = Field(default=3600.0, gt=0)

    jobs_stream: str = "AIAT_JOBS"
    jobs_stream_replicas: int = 1
    job_ack_wait_seconds: float = 60.0
    job_max_deliver: int = 5
    job_backoff_seconds: float = 5.0
    job_backoff_max_seconds: float = 60.0
    job_stale_seconds: float = 300.0
    job_pending_stale_seconds: float = 3600.0
    reconcile_interval_seconds: float = 10.0
    worker_concurrency: int = 2
    worker_grace_seconds: float = 60.0
    worker_health_host: str = "127.0.0.1"
    worker_health_port: int | None = None
    stack_restart_backoff_seconds: float = 1.0
    stack_restart_backoff_max_seconds: float = 30.0
    stack_max_restarts: int = 5
    stack_restart_window_seconds: float = 300.0
    # On one machine the engines (whisper, llama.cpp, ffmpeg) and the worker would otherwise take the CPU the
    # API's reads need; at 19 they still take every cycle the API leaves.
    stack_engine_niceness: int = Field(19, ge=0, le=19)
    stack_worker_niceness: int = Field(19, ge=0, le=19)

    transcribe_timeout_seconds: float = 4 * 3600.0
    analyze_timeout_seconds: float = 3600.0
    render_timeout_seconds: float = 3600.0

    service_ready_wait_seconds: float = 60.0
    max_plan_snippets: int = 200
    max_list_limit: int = 1000
    render_aspect: Aspect = Aspect.LANDSCAPE
    render_intro: bool = True
    render_captions: bool = True

    _grpc_tls: ClientTls | None = PrivateAttr(None)

    @field_validator(
        "job_max_deliver",
        "worker_concurrency",
        "max_plan_snippets",
        "stack_max_restarts",
        "api_max_in_flight",
    )
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator(
        "api_keys_file", "grpc_tls_ca", "grpc_tls_client_cert", "grpc_tls_client_key", mode="before"
    )
    @classmethod
    def _no_file(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(
                    f"not a rate limit such as '30/minute' or '10/second;500/hour': {exc}"
                ) from exc
        return value

    @field_validator("jobs_stream_replicas")
    @classmethod
    def _stream_replicas(cls, value: int) -> int:
        if not 1 <= value <= 5:
            raise ValueError("JetStream streams have 1 to 5 replicas")
        return value

    @field_validator("worker_health_port")
    @classmethod
    def _port(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 65535:
            raise ValueError("must be a TCP port (0-65535)")
        return value

    @model_validator(mode="after")
    def _load_grpc_tls(self) -> GatewaySettings:
        if self.grpc_tls_ca is None:
            client = (self.grpc_tls_client_cert, self.grpc_tls_client_key)
            if client != (None, None) or self.grpc_tls_server_name:
                raise ValueError("the AIAT_GRPC_TLS_* client settings need AIAT_GRPC_TLS_CA")
            return self
        try:  # read once, now: a missing or unreadable file stops the process at start
            self._grpc_tls = ClientTls.from_files(
                self.grpc_tls_ca,
                self.grpc_tls_client_cert,
                self.grpc_tls_client_key,
                self.grpc_tls_server_name,
            )
        except StartupError as exc:
            raise ValueError(str(exc)) from exc
        return self

    @property
    def grpc_tls(self) -> ClientTls | None:
        """TLS for channels to the engine services; None = plaintext."""
        return self._grpc_tls

    @model_validator(mode="after")
    def _defaults_from_data_dir(self) -> GatewaySettings:
        if not self.database_url:
            path = (self.data_dir.resolve() / "aiat.db").as_posix()
            self.database_url = f"sqlite:///{path}"
        if self.drive_endpoint == "":
            self.drive_endpoint = None
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg (v3) driver named for PostgreSQL."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url
