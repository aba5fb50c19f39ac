from aiat.common.v1 import transcript_pb2 as _transcript_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnalyzeOptions(_message.Message):
    __slots__ = ("min_seconds", "max_seconds", "max_snippets", "language", "focus")
    MIN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_SNIPPETS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    FOCUS_FIELD_NUMBER: _ClassVar[int]
    min_seconds: float
    max_seconds: float
    max_snippets: int
    language: str
    focus: str
    def __init__(self, min_seconds: _Optional[float] = ..., max_seconds: _Optional[float] = ..., max_snippets: _Optional[int] = ..., language: _Optional[str] = ..., focus: _Optional[str] = ...) -> None: ...

class AnalyzeRequest(_message.Message):
    __slots__ = ("transcript", "options", "title", "module")
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    transcript: _transcript_pb2.Transcript
    options: AnalyzeOptions
    title: str
    module: str
    def __init__(self, transcript: _Optional[_Union[_transcript_pb2.Transcript, _Mapping]] = ..., options: _Optional[_Union[AnalyzeOptions, _Mapping]] = ..., title: _Optional[str] = ..., module: _Optional[str] = ...) -> None: ...

class PlannedSnippet(_message.Message):
    __slots__ = ("name", "summary", "start", "end", "score", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    summary: str
    start: float
    end: float
    score: float
    reason: str
    def __init__(self, name: _Optional[str] = ..., summary: _Optional[str] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("snippets", "engine")
    SNIPPETS_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    snippets: _containers.RepeatedCompositeFieldContainer[PlannedSnippet]
    engine: str
    def __init__(self, snippets: _Optional[_Iterable[_Union[PlannedSnippet, _Mapping]]] = ..., engine: _Optional[str] = ...) -> None: ...

class AnalyzeResponse(_message.Message):
    __slots__ = ("progress", "plan")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    progress: _transcript_pb2.Progress
    plan: Plan
    def __init__(self, progress: _Optional[_Union[_transcript_pb2.Progress, _Mapping]] = ..., plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...
