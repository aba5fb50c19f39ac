"""Publishing a render's .srt over an earlier one: the earlier is kept aside only as a best effort.

The encode itself is faked (no ffmpeg): these tests are about the files left in the output directory
when hard links are not available or the clean-up of the kept copy fails.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from aiat.media import MediaInfo
from aiat.store import MediaStore
from aiat_renderer import engine as engine_module
from aiat_renderer.engine import FfmpegCommand, FfmpegEngine
from aiat_renderer.settings import RendererSettings
from aiat_renderer.spec import RenderSpec

EARLIER = b"1\n00:00:00,000 --> 00:00:01,000\nearlier\n"
NEW = "1\n00:00:00,000 --> 00:00:01,000\nnew\n"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FfmpegEngine, MediaStore, Path]:
    """An engine whose encode writes a few bytes, a store, and its output directory holding an earlier .srt."""
    eng = FfmpegEngine(RendererSettings(data_dir=tmp_path, port=0))
    monkeypatch.setattr(eng, "command", lambda *_a, **_k: FfmpegCommand(args=[], total=1.0, srt=NEW))

    def fake_ffmpeg(args: list[str], *_: Any) -> None:
        Path(args[-1]).write_bytes(b"video")

    monkeypatch.setattr(engine_module, "run_ffmpeg", fake_ffmpeg)
    monkeypatch.setattr(engine_module, "probe", lambda _p: MediaInfo(1.0, "mp4", True, False))
    store = MediaStore(tmp_path / "media")
    out = store.root / "output" / "snippets"
    out.mkdir(parents=True)
    (out / "a.srt").write_bytes(EARLIER)
    return eng, store, out


def write(eng: FfmpegEngine, store: MediaStore) -> str:
    spec = RenderSpec(source_path="clip.mp4", start=0.0, end=1.0, output_path="output/snippets/a.mp4")
    _command, _info, srt_rel = eng._write(spec, store, lambda _p: None, threading.Event())
    return srt_rel


def test_a_store_without_hard_links_still_publishes_the_new_srt(
    setup: tuple[FfmpegEngine, MediaStore, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.link refused (vfat, some network shares): the render goes on, as before the earlier .srt was kept."""
    eng, store, out = setup

    def no_links(*_: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    assert write(eng, store) == "output/snippets/a.srt"
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "a.srt"]
    assert (out / "a.srt").read_text() == NEW


def test_a_kept_srt_that_cannot_be_removed_does_not_fail_a_published_render(
    setup: tuple[FfmpegEngine, MediaStore, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .mp4 and .srt are in place: removing the kept copy is clean-up, not a reason to report a failure."""
    eng, store, out = setup
    unlink = Path.unlink

    def stubborn(self: Path, missing_ok: bool = False) -> None:
        if self.name.endswith(".earlier"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", stubborn)
    assert write(eng, store) == "output/snippets/a.srt"
    assert (out / "a.mp4").read_bytes() == b"video" and (out / "a.srt").read_text() == NEW


def test_a_failed_put_back_reports_the_render_error_and_leaves_no_hidden_file(
    setup: tuple[FfmpegEngine, MediaStore, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .mp4's rename fails and so does the .srt's put-back: the rename's error is raised, no `.earlier` stays."""
    eng, store, out = setup
    (out / "a.mp4").mkdir()  # a directory in the way of the rename
    (out / "a.mp4" / "keep").write_bytes(b"x")
    replace = Path.replace

    def refused(self: Path, target: Any) -> Path:
        if self.name.endswith(".earlier"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return replace(self, target)

    monkeypatch.setattr(Path, "replace", refused)
    with pytest.raises(IsADirectoryError):
        write(eng, store)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_a_failed_video_rename_puts_the_earlier_srt_back(
    setup: tuple[FfmpegEngine, MediaStore, Path],
) -> None:
    """The ordinary case: the earlier .srt is back beside the earlier video and nothing hidden is left."""
    eng, store, out = setup
    (out / "a.mp4").mkdir()
    (out / "a.mp4" / "keep").write_bytes(b"x")
    with pytest.raises(IsADirectoryError):
        write(eng, store)
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "a.srt"]
    assert (out / "a.srt").read_bytes() == EARLIER
