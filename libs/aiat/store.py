"""The shared media store: a directory tree every service sees (a ReadWriteMany volume in Kubernetes)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath


class StorePathError(ValueError):
    """A store path that is absolute, escapes the root, or is otherwise unusable."""


class MediaStore:
    """Resolves store-relative paths safely and writes files atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def resolve(self, rel: str) -> Path:
        """Absolute path of a store-relative path; rejects absolute paths and `..` escapes."""
        if not rel or "\x00" in rel:
            raise StorePathError("empty or invalid media path")
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts:
            raise StorePathError(f"media path must be relative to the store: {rel!r}")
        path = (self.root / pure).resolve()
        if path != self.root and self.root not in path.parents:
            raise StorePathError(f"media path escapes the store: {rel!r}")
        return path

    def relative(self, path: Path) -> str:
        """Store-relative POSIX path of an absolute path inside the store."""
        return path.resolve().relative_to(self.root).as_posix()

    @staticmethod
    def session_dir(session_id: int) -> str:
        """Store-relative directory of one session's working files."""
        return f"sessions/{session_id}"

    @staticmethod
    def output_dir(session_id: int) -> str:
        """Store-relative directory of one session's rendered snippets (served under /output)."""
        return f"output/{session_id}/snippets"

    def atomic_path(self, rel: str) -> contextlib.AbstractContextManager[Path]:
        """Yield a temporary path beside `rel`; on success it is renamed to `rel`, on error removed."""
        return atomic_file(self.resolve(rel))

    def write_bytes_atomic(self, rel: str, data: bytes) -> Path:
        """Write a whole file under its public name in one rename."""
        with self.atomic_path(rel) as tmp:
            tmp.write_bytes(data)
        return self.resolve(rel)


@contextlib.contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it is renamed to `final`, on error removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
