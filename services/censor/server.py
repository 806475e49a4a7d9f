"""The censor worker process: wiring only (settings, NATS, gRPC clients, health, shutdown)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

import grpc
import nats
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from cleantracks_proto import catalog_pb2_grpc, transcriber_pb2_grpc
from services.censor.denoise import BlockEngine, DeepFilterNet3
from services.censor.denoise_worker import DenoiseWorker
from services.censor.settings import CensorSettings
from services.censor.worker import CensorWorker
from services.common.blobstore import NatsBlobStore
from services.common.grpc_util import CHANNEL_OPTIONS
from services.common.jobqueue import ensure_denoise_queues, ensure_queue
from services.common.logging_setup import configure_logging
from services.common.urlfetch import FetchPolicy

__all__ = ["SharedEngine", "main", "serve"]

logger = logging.getLogger(__name__)


class SharedEngine:
    """One noise-removal engine per process, for both workers, built on first use."""

    def __init__(self, threads: int | None) -> None:
        self._threads = threads
        self._engine: BlockEngine | None = None
        self._lock = threading.Lock()

    def get(self) -> BlockEngine:
        with self._lock:
            if self._engine is None:
                self._engine = BlockEngine(DeepFilterNet3(), workers=self._threads)
            return self._engine

    def denoise(self, samples: np.ndarray, sample_rate: int, amount: int) -> np.ndarray:
        return self.get().denoise(samples, sample_rate, amount=amount)


async def serve(settings: CensorSettings) -> None:
    """Works jobs until SIGTERM or SIGINT; the job in hand is finished before stopping."""
    nc = await nats.connect(settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=1)
    js = nc.jetstream(timeout=30)  # a busy 2-core box can take seconds to answer
    await ensure_queue(js, ack_wait=settings.ack_wait_seconds, max_deliver=settings.max_deliver)
    await ensure_denoise_queues(
        js, ack_wait=settings.ack_wait_seconds, max_deliver=settings.max_deliver
    )
    blobs = await NatsBlobStore.open(js, settings.blob_bucket)
    catalog_channel = grpc.aio.insecure_channel(settings.catalog_address, options=CHANNEL_OPTIONS)
    catalog = catalog_pb2_grpc.CatalogStub(catalog_channel)
    transcriber_channel = grpc.aio.insecure_channel(
        settings.transcriber_address, options=CHANNEL_OPTIONS
    )
    engine = SharedEngine(settings.denoise_threads)
    worker = CensorWorker(
        nc=nc,
        js=js,
        blobs=blobs,
        catalog=catalog,
        transcriber=transcriber_pb2_grpc.TranscriberStub(transcriber_channel),
        ack_wait=settings.ack_wait_seconds,
        max_deliver=settings.max_deliver,
        work_dir=settings.work_dir,
        denoise=engine.denoise,
    )
    denoiser = DenoiseWorker(
        nc=nc,
        js=js,
        blobs=blobs,
        catalog=catalog,
        engine=engine.get,
        fetch_policy=FetchPolicy(
            allowed_hosts=tuple(settings.url_allowed_hosts),
            max_bytes=settings.url_max_bytes,
            timeout=settings.url_timeout_seconds,
        ),
        ack_wait=settings.ack_wait_seconds,
        max_deliver=settings.max_deliver,
        work_dir=settings.work_dir,
    )
    server = grpc.aio.server()
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    logger.info("censor worker running; health on port %s", port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    workers = [asyncio.create_task(worker.run(stop)) for _ in range(settings.concurrency)]
    workers.append(asyncio.create_task(denoiser.run(stop)))
    await stop.wait()
    logger.info("censor worker stopping after the job in hand")
    await health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    await asyncio.wait(workers, timeout=settings.grace_seconds)
    await server.stop(1)
    await catalog_channel.close()
    await transcriber_channel.close()
    await nc.drain()


def main() -> None:
    settings = CensorSettings()
    configure_logging(json_lines=settings.log_json)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
