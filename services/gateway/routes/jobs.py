"""Job Management: list, status and download of processing jobs."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from cleantracks_proto import catalog_pb2 as pb
from services.common import media
from services.common.errors import InvalidArgument
from services.common.jobqueue import CensorJob, enqueue
from services.common.spans import Span, merge_spans
from services.common.wordlists import CENSOR_METHODS
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
    if job.dry_run:
        raise InvalidArgument(f"job {job_id} is a dry run: it has a transcript, not a file")
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


@router.get("/jobs/{job_id}/transcript", summary="Every word, and what was censored where")
async def transcript(job_id: str, catalog: CatalogDep) -> dict[str, Any]:
    """The words Whisper heard with their times and probabilities, and for each censored span
    the list entry and severity that matched, Whisper's times, the refined times and whether
    verification widened it."""
    job = await catalog.call("GetJob", pb.GetJobRequest(job_id=job_id))
    if job.status not in ("completed",):
        raise InvalidArgument(f"job {job_id} has no transcript yet (status: {job.status})")
    stored = await catalog.call("GetJobReport", pb.GetJobRequest(job_id=job_id))
    report: dict[str, Any] = json.loads(stored.report_json)
    return {"job_id": job_id, "status": job.status, "dry_run": job.dry_run, **report}


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: float = Field(ge=0)
    end: float = Field(gt=0)


class RenderRequest(BaseModel):
    """Edits to a job's censored spans: remove some (by their index in the transcript's
    "censored" list), add others; the input is rendered again without transcribing."""

    model_config = ConfigDict(extra="forbid")
    remove: list[int] = Field(default_factory=list, description="indices into censored")
    add: list[_Range] = Field(default_factory=list, description="spans to censor, seconds")
    censor_method: str | None = None


@router.post("/jobs/{job_id}/render", status_code=202, summary="Re-render with edited spans")
async def render(
    job_id: str, edits: RenderRequest, catalog: CatalogDep, backends: NatsDep
) -> JSONResponse:
    source = await catalog.call("GetJob", pb.GetJobRequest(job_id=job_id))
    if source.status != "completed":
        raise InvalidArgument(f"job {job_id} is {source.status}; only a completed job re-renders")
    stored = await catalog.call("GetJobReport", pb.GetJobRequest(job_id=job_id))
    report = json.loads(stored.report_json)
    method = edits.censor_method or source.censor_method
    if method not in CENSOR_METHODS:
        raise InvalidArgument(f"censor_method must be one of {', '.join(CENSOR_METHODS)}")
    report = edit_report(report, remove=edits.remove, add=[(r.start, r.end) for r in edits.add])
    new_id = str(uuid.uuid4())
    await catalog.call(
        "CreateJob",
        pb.CreateJobRequest(
            job_id=new_id,
            input_filename=source.input_filename,
            user_id=source.user_id,
            word_list_id=source.word_list_id,
            censor_method=method,
            min_severity=source.min_severity,
            input_key=source.input_key,
            output_format=source.output_format,
            source_job_id=job_id,
        ),
    )
    await catalog.call(
        "UpdateJob",
        pb.UpdateJobRequest(
            job_id=new_id,
            report_json=json.dumps({**report, "source_job_id": job_id}),
            words_detected=source.words_detected,
            words_censored=len(report["censored"]),
        ),
    )
    user = await catalog.call("GetSettings", pb.GetSettingsRequest(user_id=source.user_id))
    job = CensorJob(
        job_id=new_id,
        input_key=source.input_key,
        input_filename=source.input_filename,
        word_list_id=source.word_list_id,
        censor_method=method,
        min_severity=source.min_severity,
        user_id=source.user_id,
        output_format=source.output_format,
        bitrate=user.audio.preferred_bitrate if user.audio.bitrate_set else "",
        preserve_metadata=user.audio.preserve_metadata,
        rerender=True,
    )
    await enqueue(backends.js, job)
    return JSONResponse(
        status_code=202,
        content={"job_id": new_id, "status": "queued", "message": "Queued for re-rendering"},
    )


def edit_report(
    report: dict[str, Any], *, remove: list[int], add: list[tuple[float, float]]
) -> dict[str, Any]:
    """Returns the report with censored entries removed and manual spans added, spans merged.

    Raises:
        InvalidArgument: for an index that is not in the list, or a span outside the track.
    """
    censored = list(report.get("censored", []))
    duration = float(report.get("duration_seconds") or 0.0)
    for index in remove:
        if not 0 <= index < len(censored):
            raise InvalidArgument(f"remove: no censored span has index {index}")
    kept = [c for i, c in enumerate(censored) if i not in set(remove)]
    for start, end in add:
        if end <= start or end > duration + 1e-6:
            raise InvalidArgument(
                f"add: {start:g}-{end:g} s is not a span within the {duration:g} s track"
            )
        kept.append({"start": start, "end": end, "source": "manual", "widened": False})
    spans = merge_spans([Span(float(c["start"]), float(c["end"])) for c in kept], duration=duration)
    return {
        **report,
        "censored": kept,
        "spans": [{"start": round(s.start, 3), "end": round(s.end, 3)} for s in spans],
    }
