"""SQLAlchemy 2 typed models of the catalog's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["ApiKeyRow", "Base", "DenoiseJob", "Job", "UserSettingsRow", "Word", "WordList"]

_SEVERITY_CHECK = "severity IN ('low', 'medium', 'high', 'extreme')"


class Base(DeclarativeBase):
    pass


class WordList(Base):
    __tablename__ = "word_lists"
    __table_args__ = (
        # At most one default; the store keeps it at exactly one.
        Index(
            "uq_word_lists_one_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    allow_words: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'")
    )

    words: Mapped[list[Word]] = relationship(
        back_populates="word_list", cascade="all, delete-orphan", passive_deletes=True
    )


class Word(Base):
    __tablename__ = "words"
    __table_args__ = (
        UniqueConstraint("list_id", "word", name="uq_words_list_word"),
        CheckConstraint(_SEVERITY_CHECK, name="ck_words_severity"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    list_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("word_lists.id", ondelete="CASCADE"), index=True
    )
    word: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(50))
    variations: Mapped[list[str]] = mapped_column(
        ARRAY(String(100)), default=list, server_default="{}"
    )
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    word_list: Mapped[WordList] = relationship(back_populates="words")


class UserSettingsRow(Base):
    """One user's settings; a NULL column means "the default"."""

    __tablename__ = "user_settings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(200), unique=True)
    default_word_list_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("word_lists.id", ondelete="SET NULL"), nullable=True
    )
    default_censor_method: Mapped[str | None] = mapped_column(String(32))
    default_min_severity: Mapped[str | None] = mapped_column(String(16))
    preferred_output_format: Mapped[str | None] = mapped_column(String(16))
    preferred_bitrate: Mapped[str | None] = mapped_column(String(16))
    preserve_metadata: Mapped[bool | None] = mapped_column(Boolean)
    whisper_model_size: Mapped[str | None] = mapped_column(String(200))
    use_gpu: Mapped[bool | None] = mapped_column(Boolean)
    theme: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    show_waveform: Mapped[bool | None] = mapped_column(Boolean)
    auto_play_preview: Mapped[bool | None] = mapped_column(Boolean)
    save_history: Mapped[bool | None] = mapped_column(Boolean)
    save_transcriptions: Mapped[bool | None] = mapped_column(Boolean)
    anonymous_mode: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'processing', 'completed', 'failed')", name="ck_jobs_status"
        ),
        Index("ix_jobs_created_at", "created_at"),
        Index("ix_jobs_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    input_filename: Mapped[str] = mapped_column(String(500))
    output_filename: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processing_time_seconds: Mapped[float | None] = mapped_column(Float)
    audio_duration_seconds: Mapped[float | None] = mapped_column(Float)
    words_detected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    words_censored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_message: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(String(200), default="default", server_default="default")
    word_list_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("word_lists.id", ondelete="SET NULL"), nullable=True
    )
    censor_method: Mapped[str] = mapped_column(String(32), default="", server_default="")
    min_severity: Mapped[str] = mapped_column(String(16), default="", server_default="")
    input_key: Mapped[str] = mapped_column(String(500), default="", server_default="")
    output_key: Mapped[str] = mapped_column(String(500), default="", server_default="")
    output_format: Mapped[str] = mapped_column(String(16), default="", server_default="")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    source_job_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True, deferred=True)


class ApiKeyRow(Base):
    """A key of the noise-removal API; only its SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DenoiseJob(Base):
    """A noise-removal job of the Audo-compatible API."""

    __tablename__ = "denoise_jobs"
    __table_args__ = (
        CheckConstraint(
            "state IN ('downloading', 'queued', 'in_progress', 'succeeded', 'failed')",
            name="ck_denoise_jobs_state",
        ),
        CheckConstraint("amount BETWEEN 1 AND 100", name="ck_denoise_jobs_amount"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    input: Mapped[str] = mapped_column(Text)
    input_key: Mapped[str] = mapped_column(String(500), default="", server_default="")
    input_filename: Mapped[str] = mapped_column(String(500), default="", server_default="")
    output_extension: Mapped[str] = mapped_column(String(16), default="", server_default="")
    output_url: Mapped[str] = mapped_column(Text, default="", server_default="")
    amount: Mapped[int] = mapped_column(Integer)
    percent: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    download_path: Mapped[str] = mapped_column(String(500), default="", server_default="")
    output_key: Mapped[str] = mapped_column(String(500), default="", server_default="")
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    queue_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    api_key_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
