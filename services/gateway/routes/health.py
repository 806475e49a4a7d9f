"""GET /api/health: healthy only while the catalog answers SERVING."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.gateway.deps import CatalogDep, SettingsDep

router = APIRouter(tags=["Health"])


@router.get("/health", summary="Check if the API is running")
async def health(catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    catalog_ok = await catalog.serving(settings.health_timeout_seconds)
    body = {
        "status": "healthy" if catalog_ok else "unhealthy",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "version": settings.version,
        "services": {"catalog": "healthy" if catalog_ok else "unavailable"},
    }
    if not catalog_ok:
        body["error"] = "catalog service is unavailable"
    return JSONResponse(status_code=200 if catalog_ok else 503, content=body)
