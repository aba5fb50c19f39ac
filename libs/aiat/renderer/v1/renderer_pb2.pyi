from aiat.common.v1 import transcript_pb2 as _transcript_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Aspect(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASPECT_UNSPECIFIED: _ClassVar[Aspect]
    ASPECT_LANDSCAPE: _ClassVar[Aspect]
    ASPECT_VERTICAL: _ClassVar[Aspect]
    ASPECT_SQUARE: _ClassVar[Aspect]

class Layout(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LAYOUT_UNSPECIFIED: _ClassVar[Layout]
    LAYOUT_AUTO: _ClassVar[Layout]
    LAYOUT_CROP: _ClassVar[Layout]
    LAYOUT_FIT: _ClassVar[Layout]
    LAYOUT_STACK: _ClassVar[Layout]
ASPECT_UNSPECIFIED: Aspect
ASPECT_LANDSCAPE: Aspect
ASPECT_VERTICAL: Aspect
ASPECT_SQUARE: Aspect
LAYOUT_UNSPECIFIED: Layout
LAYOUT_AUTO: Layout
LAYOUT_CROP: Layout
LAYOUT_FIT: Layout
LAYOUT_STACK: Layout

class Region(_message.Message):
    __slots__ = ("x", "y", "w", "h")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    W_FIELD_NUMBER: _ClassVar[int]
    H_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    w: int
    h: int
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., w: _Optional[int] = ..., h: _Optional[int] = ...) -> None: ...

class Crop(_message.Message):
    __slots__ = ("x_center", "roi_x", "roi_y", "roi_w", "roi_h")
    X_CENTER_FIELD_NUMBER: _ClassVar[int]
    ROI_X_FIELD_NUMBER: _ClassVar[int]
    ROI_Y_FIELD_NUMBER: _ClassVar[int]
    ROI_W_FIELD_NUMBER: _ClassVar[int]
    ROI_H_FIELD_NUMBER: _ClassVar[int]
    x_center: float
    roi_x: int
    roi_y: int
    roi_w: int
    roi_h: int
    def __init__(self, x_center: _Optional[float] = ..., roi_x: _Optional[int] = ..., roi_y: _Optional[int] = ..., roi_w: _Optional[int] = ..., roi_h: _Optional[int] = ...) -> None: ...

class Brand(_message.Message):
    __slots__ = ("font", "text_color", "accent_color", "title_position", "logo_path")
    FONT_FIELD_NUMBER: _ClassVar[int]
    TEXT_COLOR_FIELD_NUMBER: _ClassVar[int]
    ACCENT_COLOR_FIELD_NUMBER: _ClassVar[int]
    TITLE_POSITION_FIELD_NUMBER: _ClassVar[int]
    LOGO_PATH_FIELD_NUMBER: _ClassVar[int]
    font: str
    text_color: str
    accent_color: str
    title_position: str
    logo_path: str
    def __init__(self, font: _Optional[str] = ..., text_color: _Optional[str] = ..., accent_color: _Optional[str] = ..., title_position: _Optional[str] = ..., logo_path: _Optional[str] = ...) -> None: ...

class Intro(_message.Message):
    __slots__ = ("enabled", "seconds", "video_path")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    VIDEO_PATH_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    seconds: float
    video_path: str
    def __init__(self, enabled: _Optional[bool] = ..., seconds: _Optional[float] = ..., video_path: _Optional[str] = ...) -> None: ...

class Captions(_message.Message):
    __slots__ = ("enabled", "highlight_words", "write_srt")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    HIGHLIGHT_WORDS_FIELD_NUMBER: _ClassVar[int]
    WRITE_SRT_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    highlight_words: bool
    write_srt: bool
    def __init__(self, enabled: _Optional[bool] = ..., highlight_words: _Optional[bool] = ..., write_srt: _Optional[bool] = ...) -> None: ...

class RenderStyle(_message.Message):
    __slots__ = ("aspect", "crop", "brand", "intro", "captions", "normalize_audio", "layout", "slide", "speaker")
    ASPECT_FIELD_NUMBER: _ClassVar[int]
    CROP_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    INTRO_FIELD_NUMBER: _ClassVar[int]
    CAPTIONS_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_AUDIO_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    SLIDE_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    aspect: Aspect
    crop: Crop
    brand: Brand
    intro: Intro
    captions: Captions
    normalize_audio: bool
    layout: Layout
    slide: Region
    speaker: Region
    def __init__(self, aspect: _Optional[_Union[Aspect, str]] = ..., crop: _Optional[_Union[Crop, _Mapping]] = ..., brand: _Optional[_Union[Brand, _Mapping]] = ..., intro: _Optional[_Union[Intro, _Mapping]] = ..., captions: _Optional[_Union[Captions, _Mapping]] = ..., normalize_audio: _Optional[bool] = ..., layout: _Optional[_Union[Layout, str]] = ..., slide: _Optional[_Union[Region, _Mapping]] = ..., speaker: _Optional[_Union[Region, _Mapping]] = ...) -> None: ...

class RenderRequest(_message.Message):
    __slots__ = ("source_path", "start", "end", "output_path", "title", "module", "session_name", "style", "words")
    SOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PATH_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    SESSION_NAME_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    source_path: str
    start: float
    end: float
    output_path: str
    title: str
    module: str
    session_name: str
    style: RenderStyle
    words: _containers.RepeatedCompositeFieldContainer[_transcript_pb2.Word]
    def __init__(self, source_path: _Optional[str] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., output_path: _Optional[str] = ..., title: _Optional[str] = ..., module: _Optional[str] = ..., session_name: _Optional[str] = ..., style: _Optional[_Union[RenderStyle, _Mapping]] = ..., words: _Optional[_Iterable[_Union[_transcript_pb2.Word, _Mapping]]] = ...) -> None: ...

class RenderResult(_message.Message):
    __slots__ = ("output_path", "duration", "size_bytes", "encoder", "srt_path", "width", "height", "layout", "slide", "speaker")
    OUTPUT_PATH_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    SRT_PATH_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    SLIDE_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    output_path: str
    duration: float
    size_bytes: int
    encoder: str
    srt_path: str
    width: int
    height: int
    layout: Layout
    slide: Region
    speaker: Region
    def __init__(self, output_path: _Optional[str] = ..., duration: _Optional[float] = ..., size_bytes: _Optional[int] = ..., encoder: _Optional[str] = ..., srt_path: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., layout: _Optional[_Union[Layout, str]] = ..., slide: _Optional[_Union[Region, _Mapping]] = ..., speaker: _Optional[_Union[Region, _Mapping]] = ...) -> None: ...

class RenderResponse(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: _transcript_pb2.Progress
    result: RenderResult
    def __init__(self, progress: _Optional[_Union[_transcript_pb2.Progress, _Mapping]] = ..., result: _Optional[_Union[RenderResult, _Mapping]] = ...) -> None: ...
