"""Model resolution: local directories and cached names only, never a download."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiat.errors import StartupError
from aiat_transcriber.models import ModelNotFound, resolve_model


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"does not exist or has no model\.bin"):
        resolve_model(str(tmp_path / "no-such-model"), "", "cpu")


def test_model_names_are_never_downloaded(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="never downloaded"):
        resolve_model("large-v3-turbo", str(tmp_path), "cuda")


def test_default_cpu_model_is_the_bundled_tiny_en() -> None:
    path, label = resolve_model("", "", "cpu")
    assert label == "tiny.en"
    assert (Path(path) / "model.bin").is_file()


def test_a_missing_model_stops_the_service_from_starting() -> None:
    assert issubclass(ModelNotFound, StartupError)
