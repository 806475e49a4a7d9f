"""Job Management: list, status and download of processing jobs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from cleantracks_proto import catalog_pb2 as pb
from services.common import media
from services.common.errors import InvalidArgument
from services.gateway.convert import job_json, job_summary_json
from services.gateway.deps import CatalogDep, NatsDep

router = APIRouter(tags=["Job Management"])

# The contract filters by "pending"; a job waiting in the queue is stored as "queued".
_STATUS_FILTER = {
    "pending": "queued",
    "queued": "queued",
    "processing": "processing",
    "completed": "completed",
    "failed": "failed",
}


@router.get("/jobs", summary="List recent processing jobs")
async def list_jobs(
    catalog: CatalogDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    status: str | None = None,
) -> list[dict[str, Any]]:
    wanted = ""
    if status:
        if status not in _STATUS_FILTER:
            raise InvalidArgument(
                f"status must be one of pending, processing, completed, failed, got {status!r}"
            )
        wanted = _STATUS_FILTER[status]
    reply = await catalog.call("ListJobs", pb.ListJobsRequest(limit=limit, status=wanted))
    return [job_summary_json(job) for job in reply.jobs]


@router.get("/jobs/{job_id}", summary="Status of a processing job")
async def get_job(job_id: str, catalog: CatalogDep) -> dict[str, Any]:
    job = await catalog.call("GetJob", pb.GetJobRequest(job_id=job_id))
    return job_json(job)


@router.get("/jobs/{job_id}/download", summary="Download the processed file")
async def download(job_id: str, catalog: CatalogDep, backends: NatsDep) -> FileResponse:
    job = await catalog.call("GetJob", pb.GetJobRequest(job_id=job_id))
    if job.status != "completed" or not job.output_key:
        raise InvalidArgument(f"job {job_id} has no result to download (status: {job.status})")
    fd, name = tempfile.mkstemp(prefix="download-")
    os.close(fd)
    path = Path(name)
    try:
        await backends.blobs.get_to_file(job.output_key, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    suffix = Path(job.output_filename).suffix.lstrip(".").lower()
    return FileResponse(
        path,
        media_type=media.MEDIA_TYPES.get(suffix, "application/octet-stream"),
        filename=job.output_filename,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
