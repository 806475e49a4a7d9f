"""gRPC helpers shared by the services: the error interceptor and timestamp conversion."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2

from services.common.errors import CleanTracksError, from_grpc_code

__all__ = [
    "CHANNEL_OPTIONS",
    "DomainErrorInterceptor",
    "from_timestamp",
    "raise_domain_error",
    "set_serving",
    "to_timestamp",
]

logger = logging.getLogger(__name__)

INTERNAL_MESSAGE = "Internal server error"

# Client channels between services: reconnect quickly after a restart instead of backing off
# for up to two minutes, carry large messages (whole word lists), and spread calls over every
# address a target names ("ipv4:10.0.0.1:50052,10.0.0.2:50052", or "dns:///transcriber:50052"
# for a headless Kubernetes Service), skipping the ones that are down.
CHANNEL_OPTIONS = [
    ("grpc.lb_policy_name", "round_robin"),
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


async def set_serving(health_servicer: Any, names: tuple[str, ...], serving: bool) -> None:
    """Sets SERVING or NOT_SERVING on the standard health service for each service name."""
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in names:
        await health_servicer.set(name, status)


async def _abort(context: grpc.aio.ServicerContext, exc: BaseException) -> None:
    if isinstance(exc, CleanTracksError):
        await context.abort(exc.grpc_code, exc.message)
    logger.exception("unhandled error in %s", type(exc).__name__, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps domain errors to their gRPC status and anything unknown to INTERNAL, in one place."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        kwargs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(_wrap_unary(handler.unary_unary), **kwargs)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(_wrap_unary(handler.stream_unary), **kwargs)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream), **kwargs
            )
        return grpc.stream_stream_rpc_method_handler(_wrap_stream(handler.stream_stream), **kwargs)


def _wrap_unary(inner: Callable[..., Any]) -> Callable[..., Any]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await inner(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a status in one place
            await _abort(context, exc)

    return call


def _wrap_stream(inner: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            async for item in inner(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a status in one place
            await _abort(context, exc)

    return call


def raise_domain_error(exc: grpc.aio.AioRpcError) -> CleanTracksError:
    """Returns the domain error a client should raise for a failed call."""
    return from_grpc_code(exc.code(), exc.details() or exc.code().name)


def to_timestamp(value: datetime | None) -> Timestamp:
    """Returns a protobuf Timestamp; an unset one for None."""
    ts = Timestamp()
    if value is not None:
        ts.FromDatetime(value.astimezone(UTC))
    return ts


def from_timestamp(ts: Timestamp, present: bool = True) -> datetime | None:
    """Returns an aware UTC datetime, or None for an unset Timestamp."""
    if not present or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return ts.ToDatetime(tzinfo=UTC)
