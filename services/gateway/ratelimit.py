"""The contract's rate limits, per client address, counted by the `limits` library.

"In production, implement rate limiting: 100 requests per minute for general endpoints, 10 file
uploads per minute, 1000 WebSocket messages per minute." Each is a moving window per client
address (uvicorn takes it from ``X-Forwarded-For`` when the peer is in
``GATEWAY_FORWARDED_ALLOW_IPS``), kept in this gateway process: with several replicas each
counts its own clients. Off unless ``GATEWAY_RATE_LIMIT_ENABLED`` is true.

- ``limit_kind`` (pure) says which limit an HTTP request counts against: uploads
  (``POST /api/process``, ``POST /api/wordlists/{id}/import``, ``POST /v1/upload``), general
  (every other ``/api`` and ``/v1`` request, WebSocket connects included), or none
  (``/api/health`` for probes, CORS preflights, the docs).
- ``RateLimits`` counts hits and answers with a ``Verdict``.
- ``RateLimitMiddleware`` refuses a request over its limit before its body is read: HTTP 429
  with ``{"error": "..."}`` and ``Retry-After``, or a WebSocket closed with code 4429. Every
  counted response carries ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``.
- Socket.IO messages are counted by ``services.gateway.realtime`` against the third limit.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.settings import GatewaySettings

__all__ = [
    "GENERAL",
    "SOCKET",
    "UPLOADS",
    "RateLimitMiddleware",
    "RateLimits",
    "Verdict",
    "client_address",
    "limit_kind",
]

GENERAL = "general"
UPLOADS = "uploads"
SOCKET = "socket"

# What one hit of each limit is, for the error message.
_NOUNS = {GENERAL: "requests", UPLOADS: "file uploads", SOCKET: "WebSocket messages"}

_UPLOADS = re.compile(r"^/(?:api/process|api/wordlists/[^/]+/import|v1/upload)/?$")
_EXEMPT = re.compile(r"^/api/health/?$")
_COUNTED = re.compile(r"^/(?:api|v1)(?:/|$)")


def limit_kind(method: str, path: str) -> str | None:
    """Which limit a request counts against: ``UPLOADS``, ``GENERAL`` or None (not counted)."""
    if method == "OPTIONS" or not _COUNTED.match(path) or _EXEMPT.match(path):
        return None
    if method == "POST" and _UPLOADS.match(path):
        return UPLOADS
    return GENERAL


def client_address(scope: Scope) -> str:
    """The client's address as the server saw it (after uvicorn's proxy headers)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


@dataclass(frozen=True)
class Verdict:
    """The answer to one hit: whether it is allowed, and the window's state after it."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the window has room again
    message: str  # for a refused hit

    @property
    def retry_after(self) -> int:
        """Whole seconds until a refused client may try again (at least 1)."""
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The X-RateLimit headers, with Retry-After on a refused hit."""
        out = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(math.ceil(self.reset_at)).encode()),
        ]
        if not self.allowed:
            out.append((b"retry-after", str(self.retry_after).encode()))
        return out


def _per(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return f"per {unit}" if item.multiples == 1 else f"per {item.multiples} {unit}s"


class RateLimits:
    """Moving-window counters per limit and client address, in this process's memory."""

    def __init__(self, general: str, uploads: str, socket_messages: str) -> None:
        """
        Args:
            general, uploads, socket_messages: each limit in the `limits` notation
                ("100/minute", "10 per 2 minutes").
        """
        self._items = {
            GENERAL: parse(general),
            UPLOADS: parse(uploads),
            SOCKET: parse(socket_messages),
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_settings(cls, config: GatewaySettings) -> RateLimits | None:
        """The configured limits, or None when rate limiting is off."""
        if not config.rate_limit_enabled:
            return None
        return cls(
            config.rate_limit_general, config.rate_limit_uploads, config.rate_limit_socket_messages
        )

    async def hit(self, kind: str, client: str) -> Verdict:
        """Counts one hit of ``kind`` by ``client``; a refused hit is not counted."""
        item = self._items[kind]
        allowed = await self._limiter.hit(item, kind, client)
        stats = await self._limiter.get_window_stats(item, kind, client)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_at=stats.reset_time,
            message=(
                f"Rate limit exceeded: at most {item.amount} {_NOUNS[kind]} {_per(item)}; "
                f"try again in {retry} s"
            ),
        )


class RateLimitMiddleware:
    """Refuses HTTP requests and WebSocket connects over their limit before the app sees them."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        kind = limit_kind(scope.get("method", "GET"), scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        verdict = await self.limits.hit(kind, client_address(scope))
        if not verdict.allowed:
            await _refuse(scope, send, verdict)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *verdict.headers()]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(scope: Scope, send: Send, verdict: Verdict) -> None:
    if scope["type"] == "websocket":
        # 4429: the HTTP status in WebSocket's application range, as the other refusals.
        await send({"type": "websocket.close", "code": 4429, "reason": verdict.message[:120]})
        return
    body = json.dumps({"error": verdict.message}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *verdict.headers(),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
