from aiat.common.v1 import transcript_pb2 as _transcript_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TranscribeRequest(_message.Message):
    __slots__ = ("media_path", "language", "beam_size", "vad_filter", "word_timestamps", "initial_prompt", "model", "vocabulary")
    MEDIA_PATH_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    BEAM_SIZE_FIELD_NUMBER: _ClassVar[int]
    VAD_FILTER_FIELD_NUMBER: _ClassVar[int]
    WORD_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_PROMPT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VOCABULARY_FIELD_NUMBER: _ClassVar[int]
    media_path: str
    language: str
    beam_size: int
    vad_filter: bool
    word_timestamps: bool
    initial_prompt: str
    model: str
    vocabulary: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, media_path: _Optional[str] = ..., language: _Optional[str] = ..., beam_size: _Optional[int] = ..., vad_filter: _Optional[bool] = ..., word_timestamps: _Optional[bool] = ..., initial_prompt: _Optional[str] = ..., model: _Optional[str] = ..., vocabulary: _Optional[_Iterable[str]] = ...) -> None: ...

class TranscribeResponse(_message.Message):
    __slots__ = ("progress", "transcript")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    progress: _transcript_pb2.Progress
    transcript: _transcript_pb2.Transcript
    def __init__(self, progress: _Optional[_Union[_transcript_pb2.Progress, _Mapping]] = ..., transcript: _Optional[_Union[_transcript_pb2.Transcript, _Mapping]] = ...) -> None: ...
