"""Seed the default word list "English - General".

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.common.wordlists import make_entry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEED = Path(__file__).resolve().parents[2] / "seed" / "english_general.json"


def upgrade() -> None:
    seed = json.loads(_SEED.read_text(encoding="utf-8"))
    bind = op.get_bind()
    list_id = bind.execute(
        sa.text(
            "INSERT INTO word_lists (name, description, language, is_default, is_active) "
            "VALUES (:name, :description, :language, "
            "NOT EXISTS (SELECT 1 FROM word_lists WHERE is_default), true) RETURNING id"
        ),
        {"name": seed["name"], "description": seed["description"], "language": seed["language"]},
    ).scalar_one()
    words = sa.table(
        "words",
        sa.column("list_id", sa.BigInteger),
        sa.column("word", sa.String),
        sa.column("severity", sa.String),
        sa.column("category", sa.String),
        sa.column("variations", postgresql.ARRAY(sa.String)),
        sa.column("notes", sa.Text),
        sa.column("position", sa.Integer),
    )
    rows = []
    for position, (word, details) in enumerate(seed["words"].items()):
        entry = make_entry(word, **details)
        rows.append(
            {
                "list_id": list_id,
                "word": entry.word,
                "severity": entry.severity,
                "category": entry.category,
                "variations": list(entry.variations),
                "notes": entry.notes,
                "position": position,
            }
        )
    op.bulk_insert(words, rows)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM word_lists WHERE name = 'English - General'"))
