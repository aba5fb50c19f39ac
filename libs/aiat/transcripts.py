"""Transcript conversions: protobuf <-> JSON in the store, and SRT / WebVTT / plain text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import json_format

from aiat.common.v1 import transcript_pb2


def to_dict(transcript: transcript_pb2.Transcript) -> dict[str, Any]:
    """JSON-ready dict with snake_case keys and every field present."""
    return json_format.MessageToDict(
        transcript, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def from_dict(data: dict[str, Any]) -> transcript_pb2.Transcript:
    """Transcript from the dict written by to_dict()."""
    return json_format.ParseDict(data, transcript_pb2.Transcript(), ignore_unknown_fields=True)


def dumps(transcript: transcript_pb2.Transcript) -> bytes:
    """Serialised JSON for the media store."""
    return json.dumps(to_dict(transcript), ensure_ascii=False).encode()


def loads(raw: bytes) -> transcript_pb2.Transcript:
    """Transcript from the media store's JSON."""
    return from_dict(json.loads(raw))


def _clock(seconds: float, sep: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def cues_from_segments(segments: Iterable[transcript_pb2.Segment]) -> list[tuple[float, float, str]]:
    """(start, end, text) cues, one per non-empty segment."""
    return [(s.start, s.end, s.text.strip()) for s in segments if s.text.strip()]


def to_srt(cues: Sequence[tuple[float, float, str]]) -> str:
    """SubRip text of the cues."""
    blocks = [
        f"{i}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{text}\n"
        for i, (start, end, text) in enumerate(cues, 1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[tuple[float, float, str]]) -> str:
    """WebVTT text of the cues."""
    blocks = [f"{_clock(start, '.')} --> {_clock(end, '.')}\n{text}\n" for start, end, text in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_text(cues: Sequence[tuple[float, float, str]]) -> str:
    """Plain text, one cue a line."""
    return "".join(f"{text}\n" for _, _, text in cues)
