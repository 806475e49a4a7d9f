"""Assembles the gateway: FastAPI routers under /api, CORS, rate limits, error handlers,
Socket.IO."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.gateway.backends import Backends
from services.gateway.catalog_client import CatalogClient
from services.gateway.errors import install_error_handlers
from services.gateway.ratelimit import RateLimitMiddleware, RateLimits
from services.gateway.realtime import Realtime
from services.gateway.routes import audo, health, jobs, process, settings, statistics, wordlists
from services.gateway.settings import GatewaySettings

__all__ = ["create_app", "create_asgi"]


def create_app(
    config: GatewaySettings,
    catalog: CatalogClient | None = None,
    backends: Backends | None = None,
    realtime: Realtime | None = None,
) -> FastAPI:
    """Builds the FastAPI app.

    Args:
        config: the gateway's settings.
        catalog: a connected catalog client; None to connect to ``config.catalog_address``
            when the app starts (and close it when it stops).
        backends: connected NATS backends; None to connect to ``config.nats_url`` at start.
        realtime: the Socket.IO relay to feed from NATS once connected.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as owned:
            if app.state.catalog is None:
                app.state.catalog = CatalogClient.connect(
                    config.catalog_address, config.catalog_timeout_seconds
                )
                owned.push_async_callback(app.state.catalog.close)
            if app.state.backends is None:
                app.state.backends = await Backends.connect(config.nats_url, config.blob_bucket)
                owned.push_async_callback(app.state.backends.close)
            if realtime is not None:
                await realtime.subscribe(app.state.backends.nc)
            yield

    app = FastAPI(
        title="Clean-Tracks API",
        version=config.version,
        description="Censor explicit words in audio and video; manage word lists and settings.",
        lifespan=lifespan,
    )
    app.state.settings = config
    app.state.catalog = catalog
    app.state.backends = backends
    limits = RateLimits.from_settings(config)
    if limits is not None:
        # Added first, so the CORS middleware wraps it and a 429 still carries the CORS headers.
        app.add_middleware(RateLimitMiddleware, limits=limits)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_credentials="*" not in config.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    install_error_handlers(app)
    for module in (health, wordlists, process, jobs, settings, statistics):
        app.include_router(module.router, prefix="/api")
    app.include_router(audo.router, prefix="/v1")
    return app


def create_asgi(
    config: GatewaySettings,
    catalog: CatalogClient | None = None,
    backends: Backends | None = None,
) -> socketio.ASGIApp:
    """Returns the whole gateway: Socket.IO at /socket.io/ in front of the FastAPI app."""
    realtime = Realtime(
        config.cors_origins,
        catalog=lambda: app.state.catalog,
        limits=RateLimits.from_settings(config),
    )
    app = create_app(config, catalog, backends, realtime)
    return socketio.ASGIApp(realtime.sio, other_asgi_app=app, socketio_path="socket.io")
