"""Snippet file names: `{position})_{Name_With_Underscores}.mp4`, safe for any name."""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(r"[^\w\-]+", re.UNICODE)
_UNDERSCORES = re.compile(r"_+")
MAX_STEM = 80


def snippet_filename(position: int, name: str, ext: str = "mp4") -> str:
    """The contract's file name for a snippet, e.g. `1)_Marketing_Intro.mp4`."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    stem = _UNDERSCORES.sub("_", _UNSAFE.sub("_", text.strip())).strip("_.")
    stem = stem[:MAX_STEM].rstrip("_") or "Snippet"
    return f"{position})_{stem}.{ext}"


def is_public_output_name(filename: str) -> bool:
    """True for a name that /output may serve (no temp files, no paths)."""
    return (
        bool(filename)
        and "/" not in filename
        and "\\" not in filename
        and not filename.startswith(".")
        and filename.endswith((".mp4", ".srt"))
    )
