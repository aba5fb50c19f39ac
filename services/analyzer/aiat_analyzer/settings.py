"""Analyzer settings, read from `AIAT_ANALYZER_*` environment variables."""

from __future__ import annotations

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from aiat.settings import GrpcServiceSettings


class AnalyzerSettings(GrpcServiceSettings):
    """Engine choice, input limits and the default snippet length range."""

    model_config = SettingsConfigDict(env_prefix="AIAT_ANALYZER_", extra="ignore", populate_by_name=True)

    engine: str = "lexical"
    # Longest transcript accepted, in words (~11 h of speech at 150 words a minute).
    max_words: int = 100_000
    # Snippet length range when the request leaves it at 0: long enough to hold one idea,
    # short enough to watch as a clip; lecture topics mostly run 1-10 minutes.
    min_seconds: float = 60.0
    max_seconds: float = 600.0
    # Hard cap on snippets per plan; a request may ask for fewer.
    max_snippets: int = 100

    @model_validator(mode="after")
    def _consistent(self) -> AnalyzerSettings:
        if self.engine not in {"lexical"}:
            raise ValueError(f"unknown analyzer engine {self.engine!r} (available: lexical)")
        if not 0 < self.min_seconds < self.max_seconds:
            raise ValueError("need 0 < min_seconds < max_seconds")
        if self.max_words < 1 or self.max_snippets < 1:
            raise ValueError("max_words and max_snippets must be at least 1")
        return self
