"""The transcriber's gRPC server: wiring only (settings, models, servicer, health, shutdown)."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2_grpc

from cleantracks_proto import transcriber_pb2, transcriber_pb2_grpc
from services.common.grpc_util import DomainErrorInterceptor, set_serving
from services.common.logging_setup import configure_logging
from services.transcriber.core import ModelCache, Transcriber
from services.transcriber.models import resolve_model
from services.transcriber.servicer import TranscriberServicer
from services.transcriber.settings import TranscriberSettings

__all__ = [
    "SERVICE_NAME",
    "TranscriberServer",
    "create_server",
    "create_transcriber",
    "main",
    "serve",
]

logger = logging.getLogger(__name__)

SERVICE_NAME = transcriber_pb2.DESCRIPTOR.services_by_name["Transcriber"].full_name
# A 0.5 s chunk of float32 PCM is 32 KB; allow generous chunks from clients.
_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass
class TranscriberServer:
    """A bound, not yet started server; start() loads the default model before SERVING."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    transcriber: Transcriber
    settings: TranscriberSettings

    async def start(self) -> None:
        """Listens (health NOT_SERVING), loads the default model, then reports SERVING."""
        await self._set_serving(False)
        await self.server.start()
        loaded = await asyncio.to_thread(
            self.transcriber.preload,
            model=self.settings.default_model,
            device=self.settings.device,
        )
        logger.info(
            "default model %s ready on %s (%s)",
            self.settings.default_model,
            loaded.device,
            loaded.compute_type,
        )
        await self._set_serving(True)

    async def stop(self, grace: float) -> None:
        """Reports NOT_SERVING, then lets running transcriptions finish for up to grace seconds."""
        await self._set_serving(False)
        await self.server.stop(grace)

    async def _set_serving(self, serving: bool) -> None:
        await set_serving(self.health, ("", SERVICE_NAME), serving)


def create_transcriber(settings: TranscriberSettings) -> Transcriber:
    """Builds the core with a model cache over the settings' models folder.

    Args:
        settings: Where models live, whether downloads are allowed, CPU threads.

    Returns:
        A Transcriber that loads models on first use.
    """
    resolve = functools.partial(
        resolve_model, models_dir=settings.models_dir, allow_download=settings.allow_download
    )
    return Transcriber(ModelCache(resolve, cpu_threads=settings.cpu_threads))


def create_server(
    settings: TranscriberSettings, transcriber: Transcriber | None = None
) -> TranscriberServer:
    """Builds the server and binds its port (0 picks a free one); no model is loaded here.

    Args:
        settings: The service's settings.
        transcriber: The core to serve; one built from the settings when None
            (tests hand in a shared one so the model loads once).

    Returns:
        The bound server; call ``start()`` to load the default model and serve.
    """
    transcriber = transcriber or create_transcriber(settings)
    server = grpc.aio.server(
        interceptors=[DomainErrorInterceptor()],
        options=[("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES)],
    )
    transcriber_pb2_grpc.add_TranscriberServicer_to_server(
        TranscriberServicer(
            transcriber,
            default_model=settings.default_model,
            default_device=settings.device,
            max_seconds=settings.max_seconds,
        ),
        server,
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    if port == 0:
        raise RuntimeError(f"cannot bind {settings.host}:{settings.port}")
    return TranscriberServer(
        server=server,
        port=port,
        health=health_servicer,
        transcriber=transcriber,
        settings=settings,
    )


async def serve(settings: TranscriberSettings) -> None:
    """Serves until SIGTERM or SIGINT, then stops gracefully.

    Args:
        settings: The service's settings.
    """
    transcriber = create_server(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logger.info("transcriber listening on %s:%s", settings.host, transcriber.port)
    try:
        await transcriber.start()
        await stop.wait()
        logger.info("transcriber stopping")
    finally:
        await transcriber.stop(settings.grace_seconds)


def main() -> None:
    settings = TranscriberSettings()
    configure_logging(json_lines=settings.log_json)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
