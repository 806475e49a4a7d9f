"""Alembic environment: runs the catalog's migrations under a Postgres advisory lock."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from services.catalog.models import Base

# Replicas starting together must not run the same migration twice.
_MIGRATION_LOCK = 0x636C65616E  # "clean"


def run_migrations_online() -> None:
    config = context.config
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", future=True)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            context.configure(connection=connection, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
    engine.dispose()


run_migrations_online()
