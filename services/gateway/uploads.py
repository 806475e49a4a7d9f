"""Uploads: safe file names, and spooling an upload to a file under the size limit."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from fastapi import UploadFile

from services.common.errors import InvalidArgument, PayloadTooLarge

__all__ = ["safe_filename", "spool_upload"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str | None) -> str:
    """Returns the upload's base name with anything odd replaced, never empty or hidden."""
    base = Path((name or "").replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip(" .") or "upload"
    return cleaned[:200]


def spool_upload(upload: UploadFile, limit: int, directory: str | None) -> Path:
    """Copies the (already disk-spooled) upload to a named file, enforcing the size limit."""
    fd, name = tempfile.mkstemp(prefix="upload-", dir=directory)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            upload.file.seek(0)
            while chunk := upload.file.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"file is larger than the {limit // (1024 * 1024)} MB limit"
                    )
                out.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    if size == 0:
        Path(name).unlink(missing_ok=True)
        raise InvalidArgument("file is empty")
    return Path(name)
