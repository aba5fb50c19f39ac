"""Fonts on the machine: resolve a brand's font name or file, pick one that has a text's script, read its family."""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Sequence
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError

from aiat.errors import InvalidInput

FONT_SUFFIXES = {".ttf", ".otf", ".ttc"}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@functools.cache
def _font_files(dirs: tuple[Path, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in dirs:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.suffix.lower() in FONT_SUFFIXES:
                    found.setdefault(_key(path.stem), path.resolve())
    return found


def resolve_font(font: str, dirs: Sequence[Path], default: Path) -> Path:
    """A font file from a family name ("DejaVu Sans Bold") or a file path inside the font directories."""
    font = font.strip()
    if not font:
        return default
    roots = [d.resolve() for d in dirs]
    files = _font_files(tuple(roots))
    if Path(font).suffix.lower() in FONT_SUFFIXES:
        path = Path(font).resolve() if Path(font).is_absolute() else files.get(_key(Path(font).stem))
        if path is not None and path.is_file() and (path == default or any(r in path.parents for r in roots)):
            return path
        raise InvalidInput(f"font file {font!r} is not one of the fonts on this renderer")
    path = files.get(_key(font))
    if path is None:
        known = ", ".join(sorted(p.stem for p in files.values())[:12])
        raise InvalidInput(f"unknown font {font!r}; fonts here include: {known}")
    return path


@functools.cache
def _charset(path: Path) -> frozenset[int]:
    """The code points the font has glyphs for (the first face of a collection); empty when unreadable."""
    try:
        with TTFont(str(path), fontNumber=0, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except (OSError, TTLibError, AssertionError, struct.error, KeyError, ValueError):
        return frozenset()


def font_for_text(text: str, font: Path, dirs: Sequence[Path]) -> Path:
    """`font` when it has every letter of `text`, else the font in `dirs` that has the most of them (CJK, Thai…)."""
    wanted = {ord(c) for c in text if not c.isspace() and c.isprintable()}
    missing = wanted - _charset(font)
    if not missing:
        return font
    bold = font_family(font)[1]
    best, best_key = font, (len(wanted) - len(missing), True)
    for path in sorted(set(_font_files(tuple(d.resolve() for d in dirs)).values())):
        have = len(wanted & _charset(path))
        key = (have, font_family(path)[1] == bold)
        if key > best_key:
            best, best_key = path, key
    return best


@functools.cache
def font_family(path: Path) -> tuple[str, bool]:
    """(family name, is bold) from the font's `name` table; the file stem when it cannot be read."""
    try:
        data = path.read_bytes()
        return _parse_name_table(data)
    except (OSError, struct.error, ValueError, UnicodeDecodeError):
        return path.stem, "bold" in path.stem.lower()


def _parse_name_table(data: bytes) -> tuple[str, bool]:
    if data[:4] == b"ttcf":
        (offset,) = struct.unpack_from(">I", data, 12)
    else:
        offset = 0
    (num_tables,) = struct.unpack_from(">H", data, offset + 4)
    for i in range(num_tables):
        tag, _, table, _ = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
        if tag == b"name":
            break
    else:
        raise ValueError("no name table")
    _, count, strings = struct.unpack_from(">HHH", data, table)
    names: dict[int, str] = {}
    for i in range(count):
        platform, _, _, name_id, length, off = struct.unpack_from(">HHHHHH", data, table + 6 + 12 * i)
        if name_id not in (1, 2) or name_id in names:
            continue
        raw = data[table + strings + off : table + strings + off + length]
        if platform in (0, 3):
            names[name_id] = raw.decode("utf-16-be")
        elif platform == 1:
            names[name_id] = raw.decode("latin-1")
    if 1 not in names:
        raise ValueError("no family name")
    return names[1], "bold" in names.get(2, "").lower()
