"""The gateway's connections to NATS: the job queue, the blob store and progress events."""

from __future__ import annotations

from dataclasses import dataclass

import nats
import nats.aio.client
from nats.js import JetStreamContext

from services.common.blobstore import BlobStore, NatsBlobStore
from services.common.jobqueue import ensure_denoise_queues, ensure_queue

__all__ = ["Backends"]


@dataclass
class Backends:
    nc: nats.aio.client.Client
    js: JetStreamContext
    blobs: BlobStore

    @classmethod
    async def connect(cls, url: str, bucket: str) -> Backends:
        """Connects, and creates the queue and the bucket where they are missing."""
        nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=1)
        js = nc.jetstream(timeout=30)  # a busy 2-core box can take seconds to answer
        await ensure_queue(js)
        await ensure_denoise_queues(js)
        return cls(nc=nc, js=js, blobs=await NatsBlobStore.open(js, bucket))

    async def close(self) -> None:
        await self.nc.drain()
