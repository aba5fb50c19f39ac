from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class SessionJob(_message.Message):
    __slots__ = ("session_id", "job_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    job_id: str
    def __init__(self, session_id: _Optional[int] = ..., job_id: _Optional[str] = ...) -> None: ...

class RenderJob(_message.Message):
    __slots__ = ("task_id", "snippet_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    snippet_id: int
    def __init__(self, task_id: _Optional[str] = ..., snippet_id: _Optional[int] = ...) -> None: ...

class SessionEvent(_message.Message):
    __slots__ = ("session_id", "job_status", "progress", "error")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    job_status: str
    progress: float
    error: str
    def __init__(self, session_id: _Optional[int] = ..., job_status: _Optional[str] = ..., progress: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class TaskEvent(_message.Message):
    __slots__ = ("task_id", "snippet_id", "status", "progress", "result", "error")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    snippet_id: int
    status: str
    progress: float
    result: str
    error: str
    def __init__(self, task_id: _Optional[str] = ..., snippet_id: _Optional[int] = ..., status: _Optional[str] = ..., progress: _Optional[float] = ..., result: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...
