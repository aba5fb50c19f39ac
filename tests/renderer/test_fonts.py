"""Font resolution inside the font directories and family names read from font files."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiat.errors import InvalidInput
from aiat_renderer.fonts import font_family, resolve_font
from aiat_renderer.settings import DEJAVU


def test_fonts() -> None:
    default = DEJAVU / "DejaVuSans-Bold.ttf"
    dirs = [Path("/usr/share/fonts")]
    assert resolve_font("", dirs, default) == default
    assert resolve_font("DejaVu Serif", dirs, default).name == "DejaVuSerif.ttf"
    assert resolve_font("DejaVuSansMono.ttf", dirs, default).name == "DejaVuSansMono.ttf"
    for bad in ("No Such Font", "/etc/passwd.ttf"):
        with pytest.raises(InvalidInput):
            resolve_font(bad, dirs, default)
    assert font_family(default) == ("DejaVu Sans", True)
