"""API keys and noise-removal jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "denoise_jobs",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("input_key", sa.String(500), nullable=False, server_default=""),
        sa.Column("input_filename", sa.String(500), nullable=False, server_default=""),
        sa.Column("output_extension", sa.String(16), nullable=False, server_default=""),
        sa.Column("output_url", sa.Text, nullable=False, server_default=""),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("percent", sa.Float, nullable=False, server_default="0"),
        sa.Column("download_path", sa.String(500), nullable=False, server_default=""),
        sa.Column("output_key", sa.String(500), nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("queue_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("api_key_id", sa.BigInteger, sa.ForeignKey("api_keys.id", ondelete="SET NULL")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "state IN ('downloading', 'queued', 'in_progress', 'succeeded', 'failed')",
            name="ck_denoise_jobs_state",
        ),
        sa.CheckConstraint("amount BETWEEN 1 AND 100", name="ck_denoise_jobs_amount"),
    )


def downgrade() -> None:
    op.drop_table("denoise_jobs")
    op.drop_table("api_keys")
