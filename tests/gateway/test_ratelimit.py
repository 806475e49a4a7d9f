"""The contract's rate limits: which requests count, the 429 in the error shape, per client
address, Socket.IO messages, and off unless configured."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pydantic
import pytest
import socketio

from services.common.embedded import free_port
from services.gateway.main import create_app, create_asgi
from services.gateway.ratelimit import (
    GENERAL,
    SOCKET,
    UPLOADS,
    RateLimitMiddleware,
    RateLimits,
    limit_kind,
)
from services.gateway.settings import GatewaySettings
from tests.support.serving import serve_gateway


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/api/process", UPLOADS),
        ("POST", "/api/process/", UPLOADS),
        ("POST", "/api/wordlists/3/import", UPLOADS),
        ("POST", "/v1/upload", UPLOADS),
        ("GET", "/api/wordlists", GENERAL),
        ("POST", "/api/wordlists", GENERAL),
        ("POST", "/api/wordlists/3/words", GENERAL),
        ("GET", "/api/process", GENERAL),  # not an upload: a 405, still a request
        ("POST", "/v1/remove-noise", GENERAL),  # a file id or URL, not a file
        ("GET", "/v1/wss/remove-noise/abc/status", GENERAL),
        ("GET", "/api/jobs/abc/download", GENERAL),
        ("GET", "/api", GENERAL),
        ("GET", "/api/health", None),  # probes
        ("OPTIONS", "/api/process", None),  # CORS preflight
        ("GET", "/docs", None),
        ("GET", "/openapi.json", None),
        ("GET", "/apis/x", None),
        ("POST", "/api/processes", GENERAL),
    ],
)
def test_which_limit_a_request_counts_against(method: str, path: str, kind: str | None) -> None:
    assert limit_kind(method, path) == kind


async def test_counts_per_kind_and_client_and_refuses_over_the_limit() -> None:
    limits = RateLimits("3/minute", "1/minute", "2 per 5 minutes")
    verdicts = [await limits.hit(GENERAL, "a") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert all(v.limit == 3 for v in verdicts)
    refused = verdicts[-1]
    assert refused.message.startswith("Rate limit exceeded: at most 3 requests per minute; ")
    assert 1 <= refused.retry_after <= 60
    assert (b"retry-after", str(refused.retry_after).encode()) in refused.headers()
    assert all(name != b"retry-after" for name, _ in verdicts[0].headers())
    # Another client, and another kind for the same client, have their own windows.
    assert (await limits.hit(GENERAL, "b")).allowed
    assert (await limits.hit(UPLOADS, "a")).allowed
    upload = await limits.hit(UPLOADS, "a")
    assert not upload.allowed and "at most 1 file uploads per minute" in upload.message
    await limits.hit(SOCKET, "a")
    await limits.hit(SOCKET, "a")
    socket_refused = await limits.hit(SOCKET, "a")
    assert "at most 2 WebSocket messages per 5 minutes" in socket_refused.message


async def test_a_window_has_room_again_once_it_has_moved_on() -> None:
    limits = RateLimits("2/second", "1/minute", "1/minute")
    assert [(await limits.hit(GENERAL, "a")).allowed for _ in range(3)] == [True, True, False]
    await asyncio.sleep(1.2)
    assert (await limits.hit(GENERAL, "a")).allowed


def test_a_malformed_limit_is_refused_at_start() -> None:
    with pytest.raises(pydantic.ValidationError, match="not a rate limit like '100/minute'"):
        GatewaySettings(rate_limit_uploads="lots")


def _client(app: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://t"
    )


async def test_the_api_answers_429_in_the_error_shape_per_client(stack) -> None:
    config = GatewaySettings(
        catalog_address=stack.address,
        rate_limit_enabled=True,
        rate_limit_general="5/minute",
        rate_limit_uploads="2/minute",
    )
    app = create_app(config, catalog=stack.client)
    async with _client(app, "203.0.113.7") as one, _client(app, "203.0.113.8") as other:
        for left in (4, 3, 2, 1, 0):
            r = await one.get("/api/wordlists")
            assert r.status_code == 200
            assert r.headers["x-ratelimit-limit"] == "5"
            assert r.headers["x-ratelimit-remaining"] == str(left)
        r = await one.get("/api/statistics", headers={"Origin": "https://app.example"})
        assert r.status_code == 429
        assert r.json()["error"].startswith("Rate limit exceeded: at most 5 requests per minute")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.headers["access-control-allow-origin"] == "*"  # CORS wraps the refusal
        # Probes are not counted, and another address has its own window.
        assert (await one.get("/api/health")).status_code == 200
        assert (await other.get("/api/wordlists")).status_code == 200

        # Uploads have their own, smaller window; a refused one is answered before its body
        # is parsed (a malformed one is still counted).
        for _ in range(2):
            r = await other.post("/api/process", files={"file": ("a.mp3", b"not audio")})
            assert r.status_code == 400, r.text
        r = await other.post("/api/process", files={"file": ("a.mp3", b"not audio")})
        assert r.status_code == 429
        assert "at most 2 file uploads per minute" in r.json()["error"]
        r = await other.post("/v1/upload", files={"file": ("a.mp3", b"x")})
        assert r.status_code == 429
        assert (await other.get("/api/settings")).status_code == 200


async def test_off_by_default(api) -> None:
    assert GatewaySettings().rate_limit_enabled is False
    statuses = {(await api.get("/api/statistics")).status_code for _ in range(110)}
    assert statuses == {200}


async def test_a_websocket_connect_over_the_limit_is_closed_with_4429() -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    middleware = RateLimitMiddleware(app, RateLimits("1/minute", "1/minute", "1/minute"))
    scope = {
        "type": "websocket",
        "path": "/v1/wss/remove-noise/abc/status",
        "client": ("198.51.100.1", 5000),
        "headers": [],
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    await middleware(scope, receive, send)
    assert reached == [scope["path"]] and sent == []
    await middleware(scope, receive, send)
    assert reached == [scope["path"]]
    [closed] = sent
    assert closed["type"] == "websocket.close" and closed["code"] == 4429
    assert closed["reason"].startswith("Rate limit exceeded: at most 1 requests per minute")


async def test_socketio_messages_over_the_limit_are_refused(stack, nats_url) -> None:
    port = free_port()
    config = GatewaySettings(
        host="127.0.0.1",
        port=port,
        catalog_address=stack.address,
        nats_url=nats_url,
        rate_limit_enabled=True,
        rate_limit_socket_messages="4/minute",
    )
    server, serving = await serve_gateway(create_asgi(config, catalog=stack.client), port)
    client = socketio.AsyncClient(reconnection=False)
    try:
        url = f"http://127.0.0.1:{port}"
        await client.connect(url, socketio_path="socket.io", transports=["websocket"])  # 1
        assert await client.call("ping", {}) == {"message": "pong"}  # 2
        assert await client.call("join_job", {}) == {"error": "job_id is required"}  # 3
        assert await client.call("ping", {}) == {"message": "pong"}  # 4
        refused = await client.call("ping", {})
        assert refused["error"].startswith(
            "Rate limit exceeded: at most 4 WebSocket messages per minute"
        )
        # Over the limit, a handler does not run: the join is refused, not made.
        joined = await client.call("join_job", {"job_id": "abc"})
        assert set(joined) == {"error"} and joined["error"].startswith("Rate limit exceeded")
        # The same address cannot open another connection either, until the window moves on.
        second = socketio.AsyncClient(reconnection=False)
        reasons: list[Any] = []
        second.on("connect_error", reasons.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await second.connect(url, socketio_path="socket.io", transports=["websocket"])
        [reason] = reasons
        assert reason["message"].startswith("Rate limit exceeded: at most 4 WebSocket messages")
    finally:
        await client.disconnect()
        server.should_exit = True
        await serving
