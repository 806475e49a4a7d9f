"""User Settings: GET returns the grouped shape, PUT takes the flat keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cleantracks_proto import catalog_pb2 as pb
from services.gateway.convert import settings_json
from services.gateway.deps import CatalogDep
from services.gateway.schemas import SettingsBody

router = APIRouter(tags=["User Settings"])


@router.get("/settings", summary="Get user settings")
async def get_settings(catalog: CatalogDep, user_id: str = "default") -> dict[str, Any]:
    reply = await catalog.call("GetSettings", pb.GetSettingsRequest(user_id=user_id))
    return settings_json(reply)


@router.put("/settings", summary="Update user settings (flat keys)")
async def put_settings(body: SettingsBody, catalog: CatalogDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude={"user_id"})
    request = pb.UpdateSettingsRequest(user_id=body.user_id)
    for field, value in changes.items():
        if value is None:
            continue
        setattr(request, field, value)
    reply = await catalog.call("UpdateSettings", request)
    return {"message": "Settings updated successfully", **settings_json(reply)}
