"""Media input: store paths checked and probed, audio decoded in bounded chunks at 16 kHz mono."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from aiat.errors import Cancelled, InvalidInput
from aiat.media import store_media
from aiat.safe_media import RefusedMedia, open_media
from aiat.store import MediaStore

SAMPLE_RATE = 16000
# faster-whisper's decode_audio() groups frames this way before resampling; doing the same gives
# the same samples as the bare library.
_GROUP_SAMPLES = 500_000
# A chunk boundary goes at the quietest 100 ms within the last seconds of the chunk, not mid-word.
_CUT_SEARCH_SECONDS = 10.0
_CUT_FRAME_SAMPLES = SAMPLE_RATE // 10


@dataclass(frozen=True)
class AudioChunk:
    """A piece of the audio track: float32 samples in [-1, 1] starting `offset` seconds in."""

    offset: float
    samples: np.ndarray

    @property
    def seconds(self) -> float:
        """Length of the chunk in seconds."""
        return len(self.samples) / SAMPLE_RATE


def resolve_media(store: MediaStore, media_path: str) -> tuple[Path, float]:
    """Absolute path and duration of a store media file with an audio track, or a clear EngineError."""
    path, info = store_media(store, media_path, "media_path")
    if not info.has_audio:
        raise InvalidInput(f"{media_path!r} has no audio track to transcribe")
    return path, info.duration


def iter_audio_chunks(
    path: Path, chunk_seconds: float, cancel: threading.Event | None = None
) -> Iterator[AudioChunk]:
    """Decode the first audio track chunk by chunk, so memory stays bounded whatever the length.

    Each chunk is about `chunk_seconds` long, cut at a quiet moment; the chunks cover the audio
    without gaps or overlap. Raises InvalidInput when FFmpeg cannot decode the track.
    """
    chunk_samples = int(chunk_seconds * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_samples = 0
    offset_samples = 0
    try:
        for piece in _decoded_pieces(path, cancel):
            pending.append(piece)
            pending_samples += len(piece)
            while pending_samples >= chunk_samples:
                buffer = np.concatenate(pending)
                cut = _quiet_cut(buffer, chunk_samples)
                yield AudioChunk(offset_samples / SAMPLE_RATE, _to_float(buffer[:cut]))
                offset_samples += cut
                rest = buffer[cut:].copy()
                del buffer
                pending = [rest]
                pending_samples = len(rest)
    except (av.FFmpegError, OSError, RefusedMedia) as exc:
        raise InvalidInput(f"cannot decode the audio track ({exc.__class__.__name__}: {exc})") from exc
    if pending_samples or offset_samples == 0:
        yield AudioChunk(offset_samples / SAMPLE_RATE, _to_float(np.concatenate(pending or [_EMPTY])))


_EMPTY = np.zeros(0, dtype=np.int16)


def windows(samples: np.ndarray, max_seconds: float) -> list[tuple[int, int]]:
    """(start, end) sample ranges of at most `max_seconds` covering `samples`, each cut at a quiet moment."""
    limit = int(max_seconds * SAMPLE_RATE)
    ranges = []
    start = 0
    while len(samples) - start > limit:
        end = start + _quiet_cut(samples[start : start + limit], limit)
        ranges.append((start, end))
        start = end
    if start < len(samples):
        ranges.append((start, len(samples)))
    return ranges


def _decoded_pieces(path: Path, cancel: threading.Event | None) -> Iterator[np.ndarray]:
    """16 kHz mono int16 sample arrays of the first audio track, in order."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    fifo = av.AudioFifo()
    try:
        with open_media(path, metadata_errors="ignore") as container:
            for frame in _valid_frames(container.decode(audio=0)):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled by the caller")
                frame.pts = None  # resample by sample count, ignoring timestamp gaps
                fifo.write(frame)
                if fifo.samples >= _GROUP_SAMPLES:
                    yield from _resampled(resampler, fifo.read())
            if fifo.samples > 0:
                yield from _resampled(resampler, fifo.read())
            yield from _resampled(resampler, None)
    finally:
        # PyAV's resampler holds native buffers that are only freed by a collection (faster-whisper #390).
        del resampler
        gc.collect()


def _resampled(resampler: av.AudioResampler, frame: av.AudioFrame | None) -> Iterator[np.ndarray]:
    for out in resampler.resample(frame):
        yield out.to_ndarray().reshape(-1)


def _valid_frames(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame]:
    """Skip frames FFmpeg reports as corrupt, as faster-whisper does."""
    iterator = iter(frames)
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except av.InvalidDataError:
            continue


def _quiet_cut(buffer: np.ndarray, target: int) -> int:
    """Sample index near `target` (never after it) in the middle of the quietest 100 ms before it."""
    search = min(int(_CUT_SEARCH_SECONDS * SAMPLE_RATE), target // 4)
    frames = search // _CUT_FRAME_SAMPLES
    if frames < 2:
        return target
    start = target - frames * _CUT_FRAME_SAMPLES
    window = buffer[start:target].astype(np.float32).reshape(frames, _CUT_FRAME_SAMPLES)
    energy = np.square(window).mean(axis=1)
    quietest = int(np.argmin(energy))
    return start + quietest * _CUT_FRAME_SAMPLES + _CUT_FRAME_SAMPLES // 2


def _to_float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0
