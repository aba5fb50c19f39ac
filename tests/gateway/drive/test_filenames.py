"""File names from Content-Disposition, their sanitising, non-overwriting paths and non-media sniffing."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiat_gateway.drive.filenames import (
    filename_from_disposition,
    sanitize_filename,
    sniff_not_media,
    unique_path,
)


def test_filename_from_disposition() -> None:
    both = "attachment; filename=\"Vorlesung_1.mp4\"; filename*=UTF-8''Vorlesung%20%C3%9C1.mp4"
    assert filename_from_disposition(both) == "Vorlesung Ü1.mp4"
    assert filename_from_disposition("attachment; filename*=utf-8''a%2Fb.mp4") == "a/b.mp4"
    assert filename_from_disposition('attachment; filename="a \\"b\\"; c.mp4"') == 'a "b"; c.mp4'
    assert filename_from_disposition("attachment; filename=plain.mp4") == "plain.mp4"
    assert filename_from_disposition("attachment; filename*=iso-8859-1''caf%E9.mp4") == "café.mp4"
    assert filename_from_disposition("attachment") is None
    assert filename_from_disposition(None) is None


def test_sanitize_filename() -> None:
    assert sanitize_filename("a/b\\c.mp4") == "a_b_c.mp4"
    assert sanitize_filename("\u202egnp.mp4") == "gnp.mp4"
    assert sanitize_filename(" \t.hidden.mp4 ") == "hidden.mp4"
    assert sanitize_filename("line\nbreak.mp4") == "linebreak.mp4"
    assert sanitize_filename("") == "video.mp4"
    assert sanitize_filename(None) == "video.mp4"
    assert sanitize_filename("..") == "video.mp4"
    long = sanitize_filename("ü" * 300 + ".mp4")
    assert long.endswith(".mp4") and len(long.encode()) <= 180
    assert "\ufffd" not in long


def test_unique_path_never_names_an_existing_file(tmp_path: Path) -> None:
    assert unique_path(tmp_path, "lecture.mp4") == tmp_path / "lecture.mp4"
    (tmp_path / "lecture.mp4").write_bytes(b"1")
    assert unique_path(tmp_path, "lecture.mp4") == tmp_path / "lecture (2).mp4"
    (tmp_path / "lecture (2).mp4").write_bytes(b"2")
    assert unique_path(tmp_path, "lecture.mp4") == tmp_path / "lecture (3).mp4"
    (tmp_path / "notes").write_bytes(b"3")
    assert unique_path(tmp_path, "notes") == tmp_path / "notes (2)"


MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 2


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"", "an empty file"),
        (b"%PDF-1.7\n" + bytes(range(256)), "a PDF document"),
        (b"PK\x03\x04" + bytes(range(256)), "a ZIP archive or Office document"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "a PNG image"),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html></html>", "a web page"),
        (b'{"error": "nope"}', "a JSON document"),
        ("Vorlesungsnotizen über Ü1\n".encode() * 30, "a text file"),
        # A two-byte character cut by the sample's end is still text.
        (("a" * 100 + "ü").encode()[:-1], "a text file"),
    ],
)
def test_sniff_recognises_what_is_not_media(head: bytes, what: str) -> None:
    assert sniff_not_media(head) == what


@pytest.mark.parametrize(
    "head",
    [
        MP4_HEAD,
        b"\x1aE\xdf\xa3" + bytes(range(256)),  # Matroska/WebM
        b"ID3\x04\x00" + bytes(range(256)),  # MP3
        bytes(range(128, 256)) * 2,  # binary, not UTF-8
    ],
)
def test_sniff_lets_media_and_unknown_binary_through(head: bytes) -> None:
    assert sniff_not_media(head) is None
