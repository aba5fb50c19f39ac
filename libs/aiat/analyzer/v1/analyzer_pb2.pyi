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
    __slots__ = ("transcript", "options", "title", "module", "media_path", "slides", "slides_dir")
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_PATH_FIELD_NUMBER: _ClassVar[int]
    SLIDES_FIELD_NUMBER: _ClassVar[int]
    SLIDES_DIR_FIELD_NUMBER: _ClassVar[int]
    transcript: _transcript_pb2.Transcript
    options: AnalyzeOptions
    title: str
    module: str
    media_path: str
    slides: _containers.RepeatedCompositeFieldContainer[Slide]
    slides_dir: str
    def __init__(self, transcript: _Optional[_Union[_transcript_pb2.Transcript, _Mapping]] = ..., options: _Optional[_Union[AnalyzeOptions, _Mapping]] = ..., title: _Optional[str] = ..., module: _Optional[str] = ..., media_path: _Optional[str] = ..., slides: _Optional[_Iterable[_Union[Slide, _Mapping]]] = ..., slides_dir: _Optional[str] = ...) -> None: ...

class Slide(_message.Message):
    __slots__ = ("start", "title", "text", "thumbnail")
    START_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FIELD_NUMBER: _ClassVar[int]
    start: float
    title: str
    text: str
    thumbnail: str
    def __init__(self, start: _Optional[float] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., thumbnail: _Optional[str] = ...) -> None: ...

class Advisory(_message.Message):
    __slots__ = ("kind", "message", "suggested_start", "suggested_end")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_START_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_END_FIELD_NUMBER: _ClassVar[int]
    kind: str
    message: str
    suggested_start: float
    suggested_end: float
    def __init__(self, kind: _Optional[str] = ..., message: _Optional[str] = ..., suggested_start: _Optional[float] = ..., suggested_end: _Optional[float] = ...) -> None: ...

class PlannedSnippet(_message.Message):
    __slots__ = ("name", "summary", "start", "end", "score", "reason", "advisories")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ADVISORIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    summary: str
    start: float
    end: float
    score: float
    reason: str
    advisories: _containers.RepeatedCompositeFieldContainer[Advisory]
    def __init__(self, name: _Optional[str] = ..., summary: _Optional[str] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ..., advisories: _Optional[_Iterable[_Union[Advisory, _Mapping]]] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("snippets", "engine", "slides")
    SNIPPETS_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    SLIDES_FIELD_NUMBER: _ClassVar[int]
    snippets: _containers.RepeatedCompositeFieldContainer[PlannedSnippet]
    engine: str
    slides: _containers.RepeatedCompositeFieldContainer[Slide]
    def __init__(self, snippets: _Optional[_Iterable[_Union[PlannedSnippet, _Mapping]]] = ..., engine: _Optional[str] = ..., slides: _Optional[_Iterable[_Union[Slide, _Mapping]]] = ...) -> None: ...

class AnalyzeResponse(_message.Message):
    __slots__ = ("progress", "plan")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    progress: _transcript_pb2.Progress
    plan: Plan
    def __init__(self, progress: _Optional[_Union[_transcript_pb2.Progress, _Mapping]] = ..., plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...
