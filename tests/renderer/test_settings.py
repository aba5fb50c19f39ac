"""Renderer settings from `AIAT_RENDERER_*` environment variables."""

from __future__ import annotations

import pytest

from aiat_renderer.settings import RendererSettings


def test_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIAT_RENDERER_ENCODER", "libx264")
    monkeypatch.setenv("AIAT_RENDERER_DEFAULT_ASPECT", "vertical")
    monkeypatch.setenv("AIAT_RENDERER_INTRO_SECONDS", "1.5")
    s = RendererSettings()
    assert (s.encoder, s.default_aspect, s.intro_seconds, s.x264_preset) == (
        "libx264",
        "vertical",
        1.5,
        "superfast",
    )
