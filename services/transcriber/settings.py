"""Typed settings of the transcriber service, read once at start-up."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["TranscriberSettings", "default_models_dir"]


def default_models_dir() -> Path:
    """Returns where models live unless TRANSCRIBER_MODELS_DIR says otherwise.

    Returns:
        ``<sys.prefix>/share/clean-tracks/models``: inside the virtualenv, so
        ``make install`` and the service agree without configuration.
    """
    return Path(sys.prefix) / "share" / "clean-tracks" / "models"


class TranscriberSettings(BaseSettings):
    """Environment: TRANSCRIBER_*."""

    model_config = SettingsConfigDict(env_prefix="TRANSCRIBER_", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(default=50052, ge=0, le=65535)
    models_dir: Path = Field(default_factory=default_models_dir)
    default_model: str = Field(
        default="base", description="A size name or a model folder; 'base' is the bundled one"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    allow_download: bool = Field(
        default=False,
        description="Let faster-whisper fetch size names that are not installed from the hub",
    )
    max_seconds: float = Field(
        default=4 * 3600.0, gt=0, description="Longest audio one request may send"
    )
    cpu_threads: int = Field(default=0, ge=0, description="CTranslate2 CPU threads; 0 = default")
    grace_seconds: float = Field(default=30.0, ge=0)
    log_json: bool = False
