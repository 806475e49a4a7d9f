"""GET /api/health tells the truth about the catalog."""

from __future__ import annotations

import asyncio

import httpx

from services.catalog.server import create_server
from services.catalog.settings import CatalogSettings
from services.gateway.catalog_client import CatalogClient
from services.gateway.main import create_app
from services.gateway.settings import GatewaySettings


async def test_healthy_with_contract_fields(api):
    r = await api.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"
    assert body["version"] == "0.1.0"
    assert body["timestamp"].endswith("Z")


async def test_unhealthy_503_when_catalog_is_down(stack):
    # A second catalog over the same database, stopped while the gateway still points at it.
    server = create_server(
        CatalogSettings(database_url=stack.database_url, host="127.0.0.1", port=0)
    )
    await server.start()
    client = CatalogClient.connect(f"127.0.0.1:{server.port}", timeout=2.0)
    app = create_app(GatewaySettings(health_timeout_seconds=1.0), catalog=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as api:
        # A catalog that just started may take a moment to answer on a loaded machine.
        status = None
        for _ in range(60):
            status = (await api.get("/api/health")).status_code
            if status == 200:
                break
            await asyncio.sleep(0.5)
        assert status == 200
        await server.stop(0)
        r = await api.get("/api/health")
        assert r.status_code == 503
        assert r.json()["status"] == "unhealthy"
        # Data endpoints fail with a clear 503, not a 500.
        r = await api.get("/api/wordlists")
        assert r.status_code == 503
        assert "error" in r.json()
    await client.close()


async def test_unknown_route_and_method_use_error_shape(api):
    r = await api.get("/api/nope")
    assert r.status_code == 404
    assert r.json() == {"error": "Resource not found"}
    r = await api.patch("/api/health")
    assert r.status_code == 405
    assert "error" in r.json()


async def test_cors_allows_any_origin_by_default(api):
    r = await api.options(
        "/api/wordlists",
        headers={"Origin": "http://example.test", "Access-Control-Request-Method": "GET"},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] in ("*", "http://example.test")


async def test_cors_origins_are_configurable(stack):
    app = create_app(GatewaySettings(cors_origins=["http://allowed.test"]), catalog=stack.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as api:
        ok = await api.get("/api/health", headers={"Origin": "http://allowed.test"})
        assert ok.headers.get("access-control-allow-origin") == "http://allowed.test"
        other = await api.get("/api/health", headers={"Origin": "http://evil.test"})
        assert "access-control-allow-origin" not in other.headers


async def test_openapi_docs_served(api):
    assert (await api.get("/docs")).status_code == 200
    spec = (await api.get("/openapi.json")).json()
    assert "/api/wordlists/{list_id}/import" in spec["paths"]
