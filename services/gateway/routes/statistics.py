"""GET /api/statistics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cleantracks_proto import catalog_pb2 as pb
from services.gateway.deps import CatalogDep

router = APIRouter(tags=["Statistics"])


@router.get("/statistics", summary="Overall processing statistics")
async def statistics(catalog: CatalogDep) -> dict[str, Any]:
    s = await catalog.call("GetStatistics", pb.GetStatisticsRequest())
    return {
        "total_jobs": s.total_jobs,
        "completed_jobs": s.completed_jobs,
        "failed_jobs": s.failed_jobs,
        "success_rate": s.success_rate,
        "total_audio_duration_hours": s.total_audio_duration_hours,
        "total_words_detected": s.total_words_detected,
        "total_words_censored": s.total_words_censored,
        "average_processing_time_seconds": s.average_processing_time_seconds,
    }
