"""Request and response bodies of the REST contract (plus documented extra fields)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from aiat.aspect import Aspect
from aiat.framing import Layout
from aiat.languages import WHISPER_LANGUAGES

# A hard cap on a plan's length in the body itself, before the configurable AIAT_MAX_PLAN_SNIPPETS check.
PLAN_BODY_MAX = 10_000


def _no_control_chars(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value) or "\x7f" in value:
        raise ValueError("must not contain control characters")
    return value


Text = Annotated[str, AfterValidator(_no_control_chars)]
Seconds = Annotated[float, Field(allow_inf_nan=False, strict=True)]  # strict: "1.5" is not a number


class ValidationIssue(BaseModel):
    """One field the request got wrong."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """422 body: every issue in one readable `detail`, and each one in `errors` when the schema caught it."""

    detail: str
    errors: list[ValidationIssue] = []


# A course vocabulary goes into the speech model's prompt for every 30 s window: keep it short.
MAX_VOCABULARY_TERMS = 50
MAX_TERM_CHARS = 100
MAX_VOCABULARY_CHARS = 500


def _clean_vocabulary(value: list[str]) -> list[str]:
    terms = list(dict.fromkeys(t for t in (" ".join(v.split()) for v in value) if t))
    if len(", ".join(terms)) > MAX_VOCABULARY_CHARS:
        raise ValueError(f"the vocabulary must have at most {MAX_VOCABULARY_CHARS} characters in all")
    return terms


Vocabulary = Annotated[
    list[Annotated[Text, Field(max_length=MAX_TERM_CHARS)]],
    Field(max_length=MAX_VOCABULARY_TERMS),
    AfterValidator(_clean_vocabulary),
]


def _known_language(value: str) -> str:
    if value != "auto" and value not in WHISPER_LANGUAGES:
        raise ValueError(
            f"unknown language code {value!r}: use auto or one of {', '.join(sorted(WHISPER_LANGUAGES))}"
        )
    return value


# "auto" (detect, with the multilingual model) or a code the speech model knows, such as "de" or "haw".
TranscriptionLanguage = Annotated[str, Field(pattern=r"^(auto|[a-z]{2,3})$"), AfterValidator(_known_language)]
TranscriberModel = Literal["default", "multilingual"]


class TranscriptionIn(BaseModel):
    """Optional transcription settings of a session (upload and PATCH /sessions/{id})."""

    vocabulary: Vocabulary | None = Field(
        default=None, description="Course terms, names and formulas read aloud, favoured by the speech model"
    )
    language: TranscriptionLanguage | None = Field(
        default=None, description='ISO 639-1 code of the lecture, or "auto" to detect it'
    )
    model: TranscriberModel | None = Field(
        default=None, description='"default" (fast, English) or "multilingual"; unset = chosen by language'
    )


class SessionPatchIn(TranscriptionIn):
    """PATCH /sessions/{id} body: the fields given replace the session's (null clears one)."""

    model_config = ConfigDict(extra="forbid")


class RetranscribeIn(BaseModel):
    """POST /sessions/{id}/retranscribe body."""

    keep_plan: StrictBool = Field(
        default=False, description="Keep the current snippets (true) or analyze the new transcript (false)"
    )


class UploadSessionRequest(TranscriptionIn):
    """POST /upload-session body."""

    name: Text = Field(min_length=1, max_length=300)
    module: Text | None = Field(default=None, max_length=300)
    drive_link: Text = Field(min_length=1, max_length=2048)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()


class UploadFileForm(TranscriptionIn):
    """The text parts of POST /upload-file (the file part is streamed, not modelled)."""

    name: Text = Field(min_length=1, max_length=300)
    module: Text | None = Field(default=None, max_length=300)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()

    @field_validator("vocabulary", mode="before")
    @classmethod
    def _one_term_per_line(cls, value: object) -> object:
        return value.splitlines() if isinstance(value, str) else value


class SessionOut(BaseModel):
    """A session as the contract shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    module: str | None
    drive_link: str
    job_status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    error_message: str | None = None
    progress: float | None = None
    media_duration: float | None = None
    language: str | None = None
    snippet_count: int = 0
    vocabulary: list[str] | None = None
    requested_language: str | None = None
    transcriber_model: str | None = None
    # Set for a file uploaded with POST /upload-file (its drive_link is then `upload:sha256:<hash>`).
    content_sha256: str | None = None
    # Bumped by every plan write; send it back as PATCH /plan's base_version to refuse a lost update.
    plan_version: int = 0


class JobStatusOut(BaseModel):
    """GET /jobs/{id}/status: the contract's `job_status`, plus progress and error."""

    job_status: str
    progress: float | None = None
    error_message: str | None = None


class AdvisoryOut(BaseModel):
    """Why a snippet may not stand alone (opens_with_reference, ends_mid_thought, uses_earlier_term) and its fix."""

    kind: str
    message: str
    suggested_start: float | None = None
    suggested_end: float | None = None


class SnippetOut(BaseModel):
    """A snippet: the contract's fields plus exact times, score and render state."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    position: int
    name: str
    summary: str
    start_second: int
    end_second: int
    start: float
    end: float
    score: float | None = None
    reason: str | None = None
    origin: str
    storage_link: str | None = None
    created_at: dt.datetime
    advisories: list[AdvisoryOut] = []
    # Set once rendered: the layout and regions its file used (a render task's `framing`).
    framing: FramingOut | None = None

    @field_validator("advisories", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return [] if value is None else value


class SessionResultsOut(SessionOut):
    """GET /sessions/{id}/results: the session with its snippets."""

    snippets: list[SnippetOut]
    slide_count: int = 0  # extra: how many slides GET /sessions/{id}/slides lists


class SlideOut(BaseModel):
    """GET /sessions/{id}/slides: one slide shown from `start` to `end` seconds, its OCR'd title and thumbnail."""

    start: float
    end: float
    title: str
    thumbnail_url: str | None = Field(
        description="`/output/{session}/slides/<file>.jpg` (open it with a key or a signed URL); null when none"
    )


class PlanSnippetIn(BaseModel):
    """One snippet of PATCH /sessions/{id}/plan."""

    name: Text = Field(min_length=1, max_length=300)
    start: Seconds = Field(ge=0)
    end: Seconds = Field(gt=0)
    summary: Text = Field(default="", max_length=5000)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("snippet name must not be empty")
        return value.strip()


class PlanIn(BaseModel):
    """PATCH /sessions/{id}/plan body."""

    snippets: list[PlanSnippetIn] = Field(max_length=PLAN_BODY_MAX)
    # The plan_version this edit was made on: a 409 instead of overwriting a plan saved meanwhile.
    base_version: int | None = Field(default=None, ge=0, le=2**31 - 1)


# Regions are in source pixels; no video the pipeline takes is this large (8K is 7680 wide).
MAX_REGION_PIXELS = 16_384
Pixel = Annotated[int, Field(strict=True, ge=0, le=MAX_REGION_PIXELS)]
Extent = Annotated[int, Field(strict=True, gt=0, le=MAX_REGION_PIXELS)]


class RegionIn(BaseModel):
    """A rectangle of the source video in pixels: top-left corner and size (the renderer clips it to the frame)."""

    model_config = ConfigDict(extra="forbid")

    x: Pixel
    y: Pixel
    w: Extent
    h: Extent


class RegionOut(BaseModel):
    """A rectangle of the source video in pixels."""

    x: int
    y: int
    w: int
    h: int


class FramingOut(BaseModel):
    """How a render framed the source: the layout used (crop, fit or stack) and the slide and speaker regions."""

    layout: str
    slide: RegionOut | None = None
    speaker: RegionOut | None = None


class ProcessIn(BaseModel):
    """Optional render options for POST /snippets/{id}/process (defaults from settings)."""

    aspect: Aspect | None = None
    captions: StrictBool | None = None  # strict: 0 or "yes" are not booleans
    intro: StrictBool | None = None
    layout: Layout | None = None
    # Corrections of the detected regions, e.g. from a render's `framing`; unset = detected from the video.
    slide: RegionIn | None = None
    speaker: RegionIn | None = None


class ProcessOut(BaseModel):
    """POST /snippets/{id}/process response."""

    message: str
    task_id: str


class TaskOut(BaseModel):
    """GET /snippets/tasks/{task_id} response."""

    task_id: str
    status: str
    result: str | None = None
    error: str | None = None
    progress: float | None = None
    snippet_id: int | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    # On SUCCESS: the layout the renderer used and the slide/speaker regions, detected or given (source pixels).
    framing: FramingOut | None = None
