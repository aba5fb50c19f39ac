"""SQLAlchemy 2 models: sessions, snippets, render tasks and the job outbox."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns aware UTC (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention (for migrations)."""

    metadata = MetaData(naming_convention=NAMING)


class Status(StrEnum):
    """A session's status, spelled as the REST contract shows it (transitions: lifecycle.py)."""

    PENDING = "Pending"
    DOWNLOADING = "Processing: Downloading"
    TRANSCRIBING = "Processing: Transcribing"
    ANALYZING = "Processing: Analyzing"
    FINISHED = "Finished"
    FAILED = "Failed"


class TaskStatus(StrEnum):
    """A render task's status, spelled as the REST contract shows it (transitions: lifecycle.py)."""

    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class LectureSession(Base):
    """One uploaded lecture and its processing state."""

    __tablename__ = "sessions"
    # Ids are never reused, also on SQLite: a client may still hold the id of a deleted row.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(300))
    module: Mapped[str | None] = mapped_column(String(300), nullable=True)
    drive_link: Mapped[str] = mapped_column(String(2048), unique=True)
    # One session per Drive file, whichever link form was pasted: racing uploads meet here.
    drive_file_id: Mapped[str] = mapped_column(String(200), index=True, unique=True)
    # A file uploaded to the gateway (no Drive link): one session per content, whoever sends it again.
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True, unique=True, nullable=True)
    job_status: Mapped[str] = mapped_column(String(64), default=Status.PENDING, index=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    job_id: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    source_filename: Mapped[str | None] = mapped_column(String(300), nullable=True)
    media_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    media_duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    transcript_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Transcription settings a person gave (None = the transcriber's defaults); applied to every chunk.
    vocabulary: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    requested_language: Mapped[str | None] = mapped_column(String(16), nullable=True)  # ISO code or "auto"
    transcriber_model: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # A re-transcription that keeps the plan: the job finishes after the transcript, without analysis.
    keep_plan: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Bumped by every plan write (analysis, PATCH /plan): an edit based on an older version is refused.
    plan_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    analyzer_engine: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    snippets: Mapped[list[Snippet]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="Snippet.position"
    )


class Snippet(Base):
    """One planned segment of a session, and its rendered file once processed."""

    __tablename__ = "snippets"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    start_second: Mapped[int] = mapped_column(Integer)
    end_second: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    origin: Mapped[str] = mapped_column(String(16), default="analyzer")
    storage_link: Mapped[str | None] = mapped_column(String(400), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The analyzer's advisories: [{kind, message, suggested_start?, suggested_end?}]; none for a person's plan.
    advisories: Mapped[list[dict[str, object]] | None] = mapped_column(JSON, nullable=True)
    # How its rendered file framed the source: {layout, slide, speaker} (regions in source pixels or null).
    framing: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)

    session: Mapped[LectureSession] = relationship(back_populates="snippets")


class RenderTask(Base):
    """One request to render a snippet (POST /snippets/{id}/process)."""

    __tablename__ = "render_tasks"
    # At most one PENDING/STARTED task per snippet: parallel "process" clicks meet here (also on SQLite).
    __table_args__ = (
        Index(
            "ux_render_tasks_active_snippet",
            "snippet_id",
            unique=True,
            sqlite_where=text("status IN ('PENDING', 'STARTED')"),
            postgresql_where=text("status IN ('PENDING', 'STARTED')"),
        ),
    )

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    snippet_id: Mapped[int | None] = mapped_column(
        ForeignKey("snippets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.PENDING, index=True)
    # The delivery that holds the task ("" when none does): its writes are keyed on this id.
    claim_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    options_json: Mapped[str] = mapped_column(Text, default="{}")
    output_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    # The renderer's framing of a successful render: {layout, slide, speaker} as on the snippet.
    framing: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxMessage(Base):
    """A job committed with its request, published to JetStream after the commit (transactional outbox)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200))
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    publish_attempts: Mapped[int] = mapped_column(Integer, default=0)


class SessionSlide(Base):
    """One slide the analyzer found in a session's video, shown from `start` until the next one."""

    __tablename__ = "slides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(300), default="")
    # A file name under output/<session>/slides ("" when none was written).
    thumbnail: Mapped[str] = mapped_column(String(120), default="")
