"""The blob store for uploads and results: NATS JetStream Object Store by default, streamed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from services.common.errors import NotFound

__all__ = ["ARTIFACT_PREFIX", "FILE_PREFIX", "BlobStore", "NatsBlobStore"]

DEFAULT_BUCKET = "cleantracks-blobs"
# Noise-removal inputs (the fileId is the rest of the key) and results (the downloadPath).
FILE_PREFIX = "files/"
ARTIFACT_PREFIX = "dl/artifacts/clean/"


class BlobStore(Protocol):
    """Blobs addressed by key; files in and out, never a whole blob in memory."""

    async def put_file(self, key: str, path: Path, *, description: str = "") -> int: ...

    async def describe(self, key: str) -> str: ...

    async def get_to_file(self, key: str, path: Path) -> int: ...

    async def size(self, key: str) -> int: ...

    async def delete(self, key: str) -> None: ...

    async def keys(self, prefix: str = "") -> list[str]: ...


class NatsBlobStore:
    """A JetStream Object Store bucket (replicated with the NATS cluster)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str = DEFAULT_BUCKET) -> NatsBlobStore:
        """Opens the bucket, creating it on first use."""
        try:
            store = await js.object_store(bucket)
        except (BucketNotFoundError, NotFoundError):
            store = await js.create_object_store(bucket)
        return cls(store)

    async def put_file(self, key: str, path: Path, *, description: str = "") -> int:
        """Streams the file at ``path`` into ``key``, with a short description; returns its size."""
        meta = api.ObjectMeta(name=key, description=description or None)
        with open(path, "rb") as reader:
            info = await self._store.put(key, reader, meta=meta)
        return int(info.size or 0)

    async def describe(self, key: str) -> str:
        """Returns the description stored with ``key``, or raises NotFound."""
        try:
            info = await self._store.get_info(key)
        except (ObjectNotFoundError, NotFoundError):
            raise NotFound(f"blob {key!r} not found") from None
        return info.description or ""

    async def get_to_file(self, key: str, path: Path) -> int:
        """Streams ``key`` into ``path`` (written beside and renamed, so never half there)."""
        await self.size(key)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as writer:
                await self._store.get(key, writeinto=writer)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path.stat().st_size

    async def size(self, key: str) -> int:
        """Returns the blob's size in bytes, or raises NotFound."""
        try:
            info = await self._store.get_info(key)
        except (ObjectNotFoundError, NotFoundError):
            raise NotFound(f"blob {key!r} not found") from None
        return int(info.size or 0)

    async def delete(self, key: str) -> None:
        """Deletes ``key``; a missing key is not an error."""
        try:
            await self._store.delete(key)
        except (ObjectNotFoundError, NotFoundError):
            pass

    async def keys(self, prefix: str = "") -> list[str]:
        """Returns the keys of the stored blobs that start with ``prefix``, sorted."""
        try:
            infos = await self._store.list(ignore_deletes=True)
        except NotFoundError:
            return []  # an empty bucket
        return sorted(i.name for i in infos if i.name and i.name.startswith(prefix))
