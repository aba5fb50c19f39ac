"""Audio input: store media checked, and decoded in bounded chunks cut in pauses."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from aiat.errors import Cancelled, InvalidInput, MediaNotFound
from aiat.store import MediaStore
from aiat_transcriber.audio import SAMPLE_RATE, iter_audio_chunks, resolve_media, windows


def test_chunks_cover_the_audio_exactly(data_dir: Path) -> None:
    path = data_dir / "media" / "lectures" / "waves.wav"
    chunks = list(iter_audio_chunks(path, chunk_seconds=20))
    assert len(chunks) >= 3
    whole = decode_audio(str(path))
    joined = np.concatenate([c.samples for c in chunks])
    np.testing.assert_array_equal(joined, whole)
    offset = 0.0
    for chunk in chunks:
        assert chunk.offset == pytest.approx(offset)
        assert chunk.seconds <= 20.0
        offset += chunk.seconds


def test_chunks_are_cut_in_a_pause(data_dir: Path) -> None:
    path = data_dir / "media" / "lectures" / "waves.wav"
    chunks = list(iter_audio_chunks(path, chunk_seconds=20))
    for chunk in chunks[1:]:
        around_cut = chunk.samples[: SAMPLE_RATE // 20]
        assert float(np.abs(around_cut).max()) < 0.05, "a chunk boundary fell inside speech"


def test_whisper_windows_cover_the_audio_and_end_in_pauses(data_dir: Path) -> None:
    samples = decode_audio(str(data_dir / "media" / "lectures" / "waves.wav"))
    ranges = windows(samples, 30)
    assert len(ranges) >= 3
    assert ranges[0][0] == 0 and ranges[-1][1] == len(samples)
    assert all(end == nxt for (_s, end), (nxt, _e) in itertools.pairwise(ranges))
    assert all(0 < end - start <= 30 * SAMPLE_RATE for start, end in ranges)
    loudness = float(np.sqrt(np.mean(np.square(samples))))
    for _start, end in ranges[:-1]:
        around = samples[end - SAMPLE_RATE // 20 : end + SAMPLE_RATE // 20]
        assert float(np.sqrt(np.mean(np.square(around)))) < loudness / 4


def test_short_audio_is_one_window() -> None:
    assert windows(np.zeros(SAMPLE_RATE, dtype=np.float32), 30) == [(0, SAMPLE_RATE)]
    assert windows(np.zeros(0, dtype=np.float32), 30) == []


def test_decoding_stops_when_cancelled(data_dir: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        list(iter_audio_chunks(data_dir / "media" / "lectures" / "waves.wav", 20, cancel))


def test_store_media_is_resolved_and_checked(data_dir: Path) -> None:
    store = MediaStore(data_dir / "media")
    path, duration = resolve_media(store, "lectures/energy.mp4")
    assert path == (data_dir / "media" / "lectures" / "energy.mp4").resolve()
    assert 15 < duration < 25
    with pytest.raises(MediaNotFound):
        resolve_media(store, "lectures/missing.mp4")
    with pytest.raises(InvalidInput, match="not a readable media file"):
        resolve_media(store, "notes.txt")
