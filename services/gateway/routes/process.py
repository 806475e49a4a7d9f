"""Audio Processing: POST /api/process streams the upload to the blob store and queues the job."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from cleantracks_proto import catalog_pb2 as pb
from services.common import media
from services.common.errors import InvalidArgument, NotFound, Unavailable
from services.common.jobqueue import CensorJob, JobEvent, enqueue, progress_subject
from services.common.wordlists import CENSOR_METHODS, SEVERITIES
from services.gateway.deps import CatalogDep, NatsDep, SettingsDep
from services.gateway.uploads import safe_filename, spool_upload

router = APIRouter(tags=["Audio Processing"])
logger = logging.getLogger(__name__)


@router.post("/process", status_code=202, summary="Upload a file to censor; queues a job")
async def process(
    catalog: CatalogDep,
    backends: NatsDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="Audio or video file to process")],
    word_list_id: Annotated[int | None, Form(ge=1, le=2**63 - 1)] = None,
    censor_method: Annotated[str | None, Form()] = None,
    min_severity: Annotated[str | None, Form()] = None,
    user_id: Annotated[str, Form()] = "default",
    denoise: Annotated[
        int, Form(ge=0, le=100, description="Noise removal before censoring: 0 (off) to 100")
    ] = 0,
    dry_run: Annotated[
        bool, Form(description="Transcribe and match only; see GET /api/jobs/{id}/transcript")
    ] = False,
) -> JSONResponse:
    user = await catalog.call("GetSettings", pb.GetSettingsRequest(user_id=user_id))
    method = censor_method or user.processing.default_censor_method
    if method not in CENSOR_METHODS:
        raise InvalidArgument(
            f"censor_method must be one of {', '.join(CENSOR_METHODS)}, got {method!r}"
        )
    severity = min_severity or user.processing.default_min_severity
    if severity not in SEVERITIES:
        raise InvalidArgument(
            f"min_severity must be one of {', '.join(SEVERITIES)}, got {severity!r}"
        )
    list_id = word_list_id or user.processing.default_word_list_id
    try:
        await catalog.call("GetWordList", pb.GetWordListRequest(id=list_id))
    except NotFound:
        raise InvalidArgument(f"word_list_id: word list {list_id} does not exist") from None

    filename = safe_filename(file.filename)
    path = await asyncio.to_thread(
        spool_upload, file, settings.max_upload_bytes, settings.upload_dir
    )
    try:
        info = await asyncio.to_thread(media.probe, path)
        job_id = str(uuid.uuid4())
        input_key = f"uploads/{job_id}/{filename}"
        await backends.blobs.put_file(input_key, path)
    finally:
        path.unlink(missing_ok=True)

    output_format = user.audio.preferred_output_format if user.audio.output_format_set else ""
    await catalog.call(
        "CreateJob",
        pb.CreateJobRequest(
            job_id=job_id,
            input_filename=filename,
            user_id=user.user_id,
            word_list_id=list_id,
            censor_method=method,
            min_severity=severity,
            input_key=input_key,
            output_format=output_format or info.kind,
            dry_run=dry_run,
        ),
    )
    job = CensorJob(
        job_id=job_id,
        input_key=input_key,
        input_filename=filename,
        word_list_id=list_id,
        censor_method=method,
        min_severity=severity,
        user_id=user.user_id,
        output_format=output_format,
        bitrate=user.audio.preferred_bitrate if user.audio.bitrate_set else "",
        preserve_metadata=user.audio.preserve_metadata,
        whisper_model=user.model.whisper_model_size,
        use_gpu=user.model.use_gpu,
        denoise=denoise,
        dry_run=dry_run,
    )
    try:
        await enqueue(backends.js, job)
    except Exception as exc:
        logger.exception("could not queue job %s", job_id)
        await catalog.call(
            "UpdateJob",
            pb.UpdateJobRequest(
                job_id=job_id, status="failed", error_message="could not queue the job"
            ),
        )
        raise Unavailable("the job queue is unavailable; try again") from exc
    event = JobEvent(
        job_id=job_id,
        type="progress",
        stage="upload",
        percent=100.0,
        message="File uploaded and queued",
    )
    await backends.nc.publish(progress_subject(job_id), event.to_json())
    body: dict[str, Any] = {
        "job_id": job_id,
        "status": "queued",
        "message": "File uploaded and queued for processing",
    }
    return JSONResponse(status_code=202, content=body)
