"""README.md documents every setting and the two commands."""

from __future__ import annotations

from pathlib import Path

from aiat.settings import GrpcServiceSettings
from aiat_analyzer.settings import AnalyzerSettings
from aiat_gateway.settings import GatewaySettings
from aiat_renderer.settings import RendererSettings
from aiat_transcriber.settings import TranscriberSettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_shows_the_two_commands() -> None:
    assert "make run" in README and "make test" in README


def test_every_gateway_setting_is_documented() -> None:
    missing = [
        f"AIAT_{name.upper()}"
        for name in GatewaySettings.model_fields
        if f"AIAT_{name.upper()}" not in README and name not in ("data_dir", "log_level")
    ]
    assert "AIAT_DATA_DIR" in README and "AIAT_LOG_LEVEL" in README
    assert not missing, missing


def test_every_service_setting_is_documented() -> None:
    common = set(GrpcServiceSettings.model_fields) - {"data_dir", "log_level"}
    for cls in (TranscriberSettings, AnalyzerSettings, RendererSettings):
        prefix = str(cls.model_config["env_prefix"])
        for name, field in cls.model_fields.items():
            if name in ("data_dir", "log_level"):
                continue
            if isinstance(field.validation_alias, str):  # one fixed env name, whatever the prefix
                assert f"`{field.validation_alias}`" in README, field.validation_alias
            elif name in common:
                assert f"AIAT_<SVC>_{name.upper()}" in README, name
            else:
                assert f"`{prefix}{name.upper()}`" in README, f"{prefix}{name.upper()}"
