"""Typed settings of the censor worker, read once at start-up."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    log_json: bool = False
