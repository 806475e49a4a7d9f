"""Job reports (transcript and censored spans), dry runs and re-renders.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "jobs", sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column(
        "jobs", sa.Column("source_job_id", sa.String(64), nullable=False, server_default="")
    )
    op.add_column("jobs", sa.Column("report", postgresql.JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "report")
    op.drop_column("jobs", "source_job_id")
    op.drop_column("jobs", "dry_run")
