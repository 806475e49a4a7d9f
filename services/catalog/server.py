"""The catalog's gRPC server: wiring only (settings, engine, servicer, health, shutdown)."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cleantracks_proto import catalog_pb2, catalog_pb2_grpc
from services.catalog.db import create_engine, create_sessionmaker, run_migrations
from services.catalog.servicer import CatalogServicer
from services.catalog.settings import CatalogSettings
from services.common.grpc_util import DomainErrorInterceptor, set_serving
from services.common.logging_setup import configure_logging

__all__ = ["CatalogServer", "create_server", "main", "serve"]

logger = logging.getLogger(__name__)

SERVICE_NAME = catalog_pb2.DESCRIPTOR.services_by_name["Catalog"].full_name
_DB_CHECK_SECONDS = 5.0


@dataclass
class CatalogServer:
    """A bound, not yet started server with what it must close on stop."""

    server: grpc.aio.Server
    port: int
    engine: AsyncEngine
    health: health.aio.HealthServicer

    async def start(self) -> None:
        await self.server.start()
        await self._set_serving(True)

    async def stop(self, grace: float) -> None:
        await self._set_serving(False)
        await self.server.stop(grace)
        await self.engine.dispose()

    async def _set_serving(self, serving: bool) -> None:
        await set_serving(self.health, ("", SERVICE_NAME), serving)

    async def watch_database(self) -> None:
        """Keeps the health status true to whether Postgres answers."""
        serving = True
        while True:
            await asyncio.sleep(_DB_CHECK_SECONDS)
            try:
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                ok = True
            except Exception:  # noqa: BLE001 - any failure means not serving
                ok = False
            if ok != serving:
                logger.warning("database %s", "reachable again" if ok else "unreachable")
                serving = ok
                await self._set_serving(ok)


def create_server(settings: CatalogSettings) -> CatalogServer:
    """Builds the server and binds its port (0 picks a free one); migrations are not run here."""
    engine = create_engine(settings.database_url)
    server = grpc.aio.server(
        interceptors=[DomainErrorInterceptor()],
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ],
    )
    catalog_pb2_grpc.add_CatalogServicer_to_server(
        CatalogServicer(create_sessionmaker(engine)), server
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    if port == 0:
        raise RuntimeError(f"cannot bind {settings.host}:{settings.port}")
    return CatalogServer(server=server, port=port, engine=engine, health=health_servicer)


async def serve(settings: CatalogSettings) -> None:
    """Migrates, serves until SIGTERM or SIGINT, then stops gracefully."""
    await asyncio.to_thread(run_migrations, settings.database_url)
    catalog = create_server(settings)
    await catalog.start()
    logger.info("catalog listening on %s:%s", settings.host, catalog.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(catalog.watch_database())
    await stop.wait()
    logger.info("catalog stopping")
    watcher.cancel()
    await catalog.stop(settings.grace_seconds)


def main() -> None:
    settings = CatalogSettings()  # type: ignore[call-arg]  # read from the environment
    configure_logging(json_lines=settings.log_json)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
