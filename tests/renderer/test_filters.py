"""Filter-graph text: escaping of user values and colour parsing."""

from __future__ import annotations

import pytest

from aiat.errors import InvalidInput
from aiat_renderer.filters import ass_color, escape_value, parse_color


def test_escape_value_both_levels() -> None:
    assert escape_value("/tmp/a b/c.txt") == "/tmp/a b/c.txt"
    assert escape_value("a:b") == "a\\\\:b"
    assert escape_value("it's") == "it\\\\\\'s"
    assert escape_value("x[1],y;z") == "x\\[1\\]\\,y\\;z"
    assert escape_value("back\\slash") == "back\\\\\\\\slash"
    with pytest.raises(InvalidInput):
        escape_value("line\nbreak")


def test_parse_color() -> None:
    names = {"white": "ffffff", "darkorange": "ff8c00"}
    assert parse_color("#FF8800", names) == "0xff8800"
    assert parse_color("0x00aa11", names) == "0x00aa11"
    assert parse_color("DarkOrange", names) == "0xff8c00"
    assert ass_color("0xff8800") == "&H000088FF"
    for bad in ("red:x=1", "#12345", "nosuchcolour", "white@0.5,drawbox"):
        with pytest.raises(InvalidInput):
            parse_color(bad, names)
