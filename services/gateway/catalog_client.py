"""The gateway's client of the catalog: one call helper that maps gRPC failures to domain errors."""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cleantracks_proto import catalog_pb2_grpc
from services.common.grpc_util import CHANNEL_OPTIONS, raise_domain_error

__all__ = ["CatalogClient"]


class CatalogClient:
    """Handed a channel; the gateway keeps no state of its own beyond it."""

    def __init__(self, channel: grpc.aio.Channel, timeout: float = 30.0) -> None:
        self._channel = channel
        self._stub = catalog_pb2_grpc.CatalogStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        self._timeout = timeout

    @classmethod
    def connect(cls, address: str, timeout: float = 30.0) -> CatalogClient:
        """Opens an insecure channel to ``address`` (host:port)."""
        return cls(grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS), timeout)

    async def call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        """Calls one Catalog RPC by name.

        Raises:
            CleanTracksError: the domain error for the call's status.
        """
        rpc = getattr(self._stub, method)
        try:
            # Waits through a brief reconnect (a catalog restart) instead of failing at once.
            return await rpc(request, timeout=timeout or self._timeout, wait_for_ready=True)
        except grpc.aio.AioRpcError as exc:
            raise raise_domain_error(exc) from None

    async def serving(self, timeout: float) -> bool:
        """Returns whether the catalog's health service answers SERVING within ``timeout``."""
        try:
            reply = await self._health.Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.aio.AioRpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    async def close(self) -> None:
        await self._channel.close()
