"""Domain errors shared by every service, each mapped once to an HTTP and a gRPC status.

The catalog's gRPC interceptor turns these into status codes; the gateway turns
status codes back into these and its exception handlers turn them into HTTP
responses with ``{"error": "..."}``. Anything else is INTERNAL / 500.
"""

from __future__ import annotations

import grpc

__all__ = [
    "AlreadyExists",
    "CleanTracksError",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PayloadTooLarge",
    "Unavailable",
    "Unauthenticated",
    "from_grpc_code",
]


class CleanTracksError(Exception):
    """Base of every domain error: INTERNAL / 500 unless a subclass says otherwise."""

    http_status = 500
    grpc_code = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(CleanTracksError):
    """Bad input from the caller: INVALID_ARGUMENT / 400."""

    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(CleanTracksError):
    """An unknown id: NOT_FOUND / 404."""

    http_status = 404
    grpc_code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(CleanTracksError):
    """A unique name taken already: ALREADY_EXISTS / 400 (the contract has no 409)."""

    http_status = 400
    grpc_code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(CleanTracksError):
    """A request the current state forbids, such as deleting the default list:
    FAILED_PRECONDITION / 400."""

    http_status = 400
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class PayloadTooLarge(CleanTracksError):
    """An upload over the size limit: RESOURCE_EXHAUSTED / 413."""

    http_status = 413
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unauthenticated(CleanTracksError):
    """A missing or wrong API key: UNAUTHENTICATED / 401."""

    http_status = 401
    grpc_code = grpc.StatusCode.UNAUTHENTICATED


class Unavailable(CleanTracksError):
    """A backing service that cannot be reached: UNAVAILABLE / 503."""

    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE


_BY_CODE: dict[grpc.StatusCode, type[CleanTracksError]] = {
    cls.grpc_code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        PayloadTooLarge,
        Unauthenticated,
        Unavailable,
    )
}
_BY_CODE[grpc.StatusCode.DEADLINE_EXCEEDED] = Unavailable


def from_grpc_code(code: grpc.StatusCode, message: str) -> CleanTracksError:
    """Returns the domain error for a gRPC status, INTERNAL for an unknown one."""
    return _BY_CODE.get(code, CleanTracksError)(message)
