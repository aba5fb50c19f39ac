"""Transcriber settings from `AIAT_TRANSCRIBER_*` variables, and the engine's share of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiat_transcriber.engine import WhisperConfig
from aiat_transcriber.settings import TranscriberSettings


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAT_TRANSCRIBER_MODEL", "large-v3-turbo")
    monkeypatch.setenv("AIAT_TRANSCRIBER_DEVICE", "cuda")
    monkeypatch.setenv("AIAT_TRANSCRIBER_BATCH_SIZE", "16")
    monkeypatch.setenv("AIAT_TRANSCRIBER_MAX_CONCURRENCY", "2")
    settings = TranscriberSettings()
    config = WhisperConfig.from_settings(settings)
    assert (config.model, config.device, config.batch_size, config.max_concurrency) == (
        "large-v3-turbo",
        "cuda",
        16,
        2,
    )
    assert settings.port == 50051


def test_settings_reject_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAT_TRANSCRIBER_DEVICE", "tpu")
    with pytest.raises(ValueError, match="device"):
        TranscriberSettings()


def test_engine_config_takes_every_engine_field_from_the_settings(tmp_path: Path) -> None:
    settings = TranscriberSettings(data_dir=tmp_path, beam_size=3, language="de", chunk_seconds=30)
    config = WhisperConfig.from_settings(settings)
    assert (config.beam_size, config.language, config.chunk_seconds) == (3, "de", 30.0)
    assert config.media_root == tmp_path.resolve() / "media"
