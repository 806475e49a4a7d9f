"""Typed settings of the gateway, read once at start-up."""

from __future__ import annotations

from typing import Annotated

from limits import parse
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["GatewaySettings"]


class GatewaySettings(BaseSettings):
    """Environment: GATEWAY_* plus CATALOG_ADDRESS, NATS_URL, CORS_ORIGINS and API_KEYS."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(default=5000, ge=0, le=65535)
    catalog_address: str = Field(
        default="127.0.0.1:50051",
        validation_alias=AliasChoices("GATEWAY_CATALOG_ADDRESS", "CATALOG_ADDRESS"),
    )
    catalog_timeout_seconds: float = Field(default=30.0, gt=0)
    health_timeout_seconds: float = Field(default=2.0, gt=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=["*"], validation_alias=AliasChoices("GATEWAY_CORS_ORIGINS", "CORS_ORIGINS")
    )
    max_import_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=AliasChoices("GATEWAY_NATS_URL", "NATS_URL"),
    )
    blob_bucket: str = "cleantracks-blobs"
    max_upload_bytes: int = Field(default=500 * 1024 * 1024, gt=0)
    upload_dir: str | None = Field(
        default=None, description="Spool folder for uploads; None: the system temp folder"
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default=[],
        validation_alias=AliasChoices("GATEWAY_API_KEYS", "API_KEYS"),
        description="Noise-removal API keys accepted besides the catalog's, comma-separated",
    )
    rate_limit_enabled: bool = Field(
        default=False, description="The contract's production rate limits, per client address"
    )
    rate_limit_general: str = Field(default="100/minute", description="Every other request")
    rate_limit_uploads: str = Field(
        default="10/minute", description="POST /api/process, /api/wordlists/{id}/import, /v1/upload"
    )
    rate_limit_socket_messages: str = Field(
        default="1000/minute", description="Socket.IO messages from one client address"
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For names the client (comma-separated, or *)",
    )
    version: str = "0.1.0"
    log_json: bool = False

    @field_validator("rate_limit_general", "rate_limit_uploads", "rate_limit_socket_messages")
    @classmethod
    def _a_limit(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit like '100/minute': {value!r}") from exc
        return value

    @field_validator("cors_origins", "api_keys", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value
