"""Database wiring: URLs, the async engine and Alembic migrations applied at start-up."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

__all__ = ["create_engine", "create_sessionmaker", "run_migrations", "sqlalchemy_url"]

logger = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """Returns ``url`` with the psycopg 3 driver named, as SQLAlchemy needs it."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def run_migrations(url: str) -> None:
    """Upgrades the database at ``url`` to the newest migration (blocking)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    # Alembic's ini interpolation treats "%" specially.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    logger.info("applying migrations")
    command.upgrade(config, "head")


def create_engine(url: str) -> AsyncEngine:
    """Returns an async engine over psycopg 3 with a small, health-checked pool."""
    return create_async_engine(
        sqlalchemy_url(url), pool_size=5, max_overflow=10, pool_pre_ping=True
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Returns the session factory the servicer opens one transaction per call with."""
    return async_sessionmaker(engine, expire_on_commit=False)
