"""Word lists, words, user settings and job records.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "word_lists",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("language", sa.String(16), nullable=False, server_default="en"),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *_timestamps(),
    )
    op.create_index(
        "uq_word_lists_one_default",
        "word_lists",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "words",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "list_id",
            sa.BigInteger,
            sa.ForeignKey("word_lists.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("word", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column(
            "variations", postgresql.ARRAY(sa.String(100)), nullable=False, server_default="{}"
        ),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("list_id", "word", name="uq_words_list_word"),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high', 'extreme')", name="ck_words_severity"
        ),
    )
    op.create_index("ix_words_list_id", "words", ["list_id"])
    op.create_table(
        "user_settings",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(200), nullable=False, unique=True),
        sa.Column(
            "default_word_list_id",
            sa.BigInteger,
            sa.ForeignKey("word_lists.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("default_censor_method", sa.String(32)),
        sa.Column("default_min_severity", sa.String(16)),
        sa.Column("preferred_output_format", sa.String(16)),
        sa.Column("preferred_bitrate", sa.String(16)),
        sa.Column("preserve_metadata", sa.Boolean),
        sa.Column("whisper_model_size", sa.String(200)),
        sa.Column("use_gpu", sa.Boolean),
        sa.Column("theme", sa.String(16)),
        sa.Column("language", sa.String(16)),
        sa.Column("show_waveform", sa.Boolean),
        sa.Column("auto_play_preview", sa.Boolean),
        sa.Column("save_history", sa.Boolean),
        sa.Column("save_transcriptions", sa.Boolean),
        sa.Column("anonymous_mode", sa.Boolean),
        *_timestamps(),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False, unique=True),
        sa.Column("input_filename", sa.String(500), nullable=False),
        sa.Column("output_filename", sa.String(500)),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("processing_time_seconds", sa.Float),
        sa.Column("audio_duration_seconds", sa.Float),
        sa.Column("words_detected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("words_censored", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error_message", sa.Text),
        sa.Column("user_id", sa.String(200), nullable=False, server_default="default"),
        sa.Column(
            "word_list_id",
            sa.BigInteger,
            sa.ForeignKey("word_lists.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("censor_method", sa.String(32), nullable=False, server_default=""),
        sa.Column("min_severity", sa.String(16), nullable=False, server_default=""),
        sa.Column("input_key", sa.String(500), nullable=False, server_default=""),
        sa.Column("output_key", sa.String(500), nullable=False, server_default=""),
        sa.Column("output_format", sa.String(16), nullable=False, server_default=""),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'completed', 'failed')", name="ck_jobs_status"
        ),
    )
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_index("ix_jobs_status", "jobs", ["status"])


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("user_settings")
    op.drop_table("words")
    op.drop_table("word_lists")
