"""Typed settings of the catalog service, read once at start-up."""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CatalogSettings"]

_PLACEHOLDERS = ("changeme", "change-me", "password@", ":secret@", "placeholder")


class CatalogSettings(BaseSettings):
    """Environment: CATALOG_* (DATABASE_URL is also read for the database)."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    database_url: str = Field(
        validation_alias=AliasChoices("CATALOG_DATABASE_URL", "DATABASE_URL"),
        description="Postgres URL: postgresql://user:pass@host:port/db (or a ?host= socket dir)",
    )
    host: str = "0.0.0.0"
    port: int = Field(default=50051, ge=0, le=65535)
    grace_seconds: float = Field(default=10.0, ge=0)
    environment: str = Field(
        default="development", validation_alias=AliasChoices("CATALOG_ENVIRONMENT", "ENVIRONMENT")
    )
    log_json: bool = False

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> CatalogSettings:
        if self.environment != "development" and any(
            p in self.database_url.lower() for p in _PLACEHOLDERS
        ):
            raise ValueError("DATABASE_URL holds a placeholder password outside development")
        return self
