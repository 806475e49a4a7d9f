"""Typed settings of the censor worker, read once at start-up."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["CensorSettings"]


class CensorSettings(BaseSettings):
    """Environment: CENSOR_* plus NATS_URL, CATALOG_ADDRESS and TRANSCRIBER_ADDRESS."""

    model_config = SettingsConfigDict(env_prefix="CENSOR_", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(default=50053, ge=0, le=65535, description="gRPC health port")
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=AliasChoices("CENSOR_NATS_URL", "NATS_URL"),
    )
    catalog_address: str = Field(
        default="127.0.0.1:50051",
        validation_alias=AliasChoices("CENSOR_CATALOG_ADDRESS", "CATALOG_ADDRESS"),
    )
    transcriber_address: str = Field(
        default="127.0.0.1:50052",
        validation_alias=AliasChoices("CENSOR_TRANSCRIBER_ADDRESS", "TRANSCRIBER_ADDRESS"),
    )
    blob_bucket: str = "cleantracks-blobs"
    work_dir: str | None = Field(default=None, description="Scratch folder; None: system temp")
    ack_wait_seconds: float = Field(default=30.0, gt=1)
    max_deliver: int = Field(default=5, ge=1)
    concurrency: int = Field(default=1, ge=1)
    grace_seconds: float = Field(default=30.0, ge=0)
    denoise_threads: int | None = Field(
        default=None, ge=1, description="Threads noise removal runs on; None: one per core"
    )
    url_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=[],
        validation_alias=AliasChoices("CENSOR_URL_ALLOWED_HOSTS", "URL_ALLOWED_HOSTS"),
        description="Hosts or networks URL inputs may reach although internal (comma-separated)",
    )
    url_max_bytes: int = Field(default=500 * 1024 * 1024, gt=0)
    url_timeout_seconds: float = Field(default=120.0, gt=0)
    log_json: bool = False

    @field_validator("url_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value
