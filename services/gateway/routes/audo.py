"""The noise-removal API under /v1, compatible with Audo's: upload, remove-noise, status by
polling and by WebSocket, artifact download. Authenticated by the ``x-api-key`` header."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, WebSocket
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.websockets import WebSocketDisconnect

from cleantracks_proto import catalog_pb2 as pb
from services.common import media
from services.common.blobstore import ARTIFACT_PREFIX, FILE_PREFIX
from services.common.errors import CleanTracksError, InvalidArgument, NotFound, Unauthenticated
from services.common.jobqueue import enqueue_denoise, jobs_ahead, progress_subject
from services.gateway.backends import Backends
from services.gateway.catalog_client import CatalogClient
from services.gateway.deps import CatalogDep, NatsDep, SettingsDep
from services.gateway.settings import GatewaySettings
from services.gateway.uploads import safe_filename, spool_upload

__all__ = ["check_api_key", "job_status", "router"]

router = APIRouter(tags=["Noise Removal (Audo-compatible)"])
logger = logging.getLogger(__name__)

_FINAL = ("succeeded", "failed")


async def check_api_key(catalog: CatalogClient, settings: GatewaySettings, key: str | None) -> int:
    """Returns the catalog id of a valid key (0 for one named in API_KEYS), or raises."""
    if not key:
        raise Unauthenticated("missing API key: send it in the x-api-key header")
    if key in settings.api_keys:
        return 0
    try:
        reply = await catalog.call("VerifyApiKey", pb.VerifyApiKeyRequest(secret=key))
    except (Unauthenticated, NotFound):
        raise Unauthenticated("invalid API key") from None
    return int(reply.id)


async def _api_key(request: Request, catalog: CatalogDep, settings: SettingsDep) -> int:
    return await check_api_key(catalog, settings, request.headers.get("x-api-key"))


ApiKeyDep = Annotated[int, Depends(_api_key)]


def _extension(value: str | None, field: str) -> str:
    ext = (value or "").strip().lower().lstrip(".")
    if ext and ext not in media.OUTPUT_FORMATS:
        raise InvalidArgument(
            f"{field} {value!r} is not supported; use one of {', '.join(media.OUTPUT_FORMATS)}"
        )
    return ext


@router.post("/upload", summary="Upload an audio or video file for later processing")
async def upload(
    api_key: ApiKeyDep,
    backends: NatsDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The audio or video file")],
    input_ext: Annotated[str | None, Query(alias="inputExt")] = None,
    input_extension: Annotated[str | None, Query(alias="inputExtension")] = None,
) -> dict[str, str]:
    override = _extension(input_ext or input_extension, "inputExt")
    name = safe_filename(file.filename)
    path = await asyncio.to_thread(
        spool_upload, file, settings.max_upload_bytes, settings.upload_dir
    )
    try:
        info = await asyncio.to_thread(media.probe, path)
        ext = override or info.kind
        if Path(name).suffix.lower().lstrip(".") != ext:
            name = f"{Path(name).stem or 'upload'}.{ext}"
        file_id = str(uuid.uuid4())
        description = json.dumps({"filename": name, "kind": info.kind})
        await backends.blobs.put_file(FILE_PREFIX + file_id, path, description=description)
    finally:
        path.unlink(missing_ok=True)
    return {"fileId": file_id}


def _amount(raw: Any) -> int:
    """noiseReductionAmount: an integer 1..100, given as a number or a string; 100 if absent."""
    if raw is None:
        return 100
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw.strip())
    if value is None or not 1 <= value <= 100:
        raise InvalidArgument(
            f"noiseReductionAmount must be an integer from 1 to 100, got {json.dumps(raw)}"
        )
    return value


def _http_url(value: str, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(f"{field} must be an http or https URL")
    return value


@router.post("/remove-noise", summary="Submit an uploaded file or a URL for noise removal")
async def remove_noise(
    request: Request, api_key: ApiKeyDep, catalog: CatalogDep, backends: NatsDep
) -> dict[str, str]:
    # The contract's curl examples send JSON without a JSON content type: read the body as is.
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidArgument("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidArgument("the body must be a JSON object")
    unknown = set(body) - {"input", "outputExtension", "output", "noiseReductionAmount"}
    if unknown:
        raise InvalidArgument(f"unknown field {sorted(unknown)[0]!r}")
    source = body.get("input")
    if not isinstance(source, str) or not source.strip():
        raise InvalidArgument("input is required: a fileId from /upload or an http(s) URL")
    source = source.strip()
    ext = body.get("outputExtension")
    if ext is not None and not isinstance(ext, str):
        raise InvalidArgument("outputExtension must be a string")
    output_ext = _extension(ext, "outputExtension")
    output = body.get("output")
    if output is not None and not isinstance(output, str):
        raise InvalidArgument("output must be a URL string")
    output_url = _http_url(output, "output") if output else ""
    amount = _amount(body.get("noiseReductionAmount"))

    is_url = "://" in source
    filename = ""
    input_key = ""
    if is_url:
        _http_url(source, "input")
    else:
        try:
            uuid.UUID(source)
            described = json.loads(await backends.blobs.describe(FILE_PREFIX + source) or "{}")
        except (ValueError, NotFound):
            raise InvalidArgument(f"input: no uploaded file has the id {source!r}") from None
        input_key = FILE_PREFIX + source
        filename = str(described.get("filename") or "upload")
    job_id = str(uuid.uuid4())
    await catalog.call(
        "CreateDenoiseJob",
        pb.CreateDenoiseJobRequest(
            job_id=job_id,
            state="downloading" if is_url else "queued",
            input=source,
            input_key=input_key,
            input_filename=filename,
            output_extension=output_ext,
            output_url=output_url,
            amount=amount,
            api_key_id=api_key,
        ),
    )
    try:
        seq = await enqueue_denoise(backends.js, job_id, fetch=is_url)
    except Exception as exc:
        logger.exception("could not queue job %s", job_id)
        await catalog.call(
            "UpdateDenoiseJob",
            pb.UpdateDenoiseJobRequest(
                job_id=job_id, state="failed", reason="the job queue was unavailable"
            ),
        )
        raise CleanTracksError("could not queue the job") from exc
    if not is_url:
        await catalog.call(
            "UpdateDenoiseJob", pb.UpdateDenoiseJobRequest(job_id=job_id, queue_seq=seq)
        )
    return {"jobId": job_id}


async def job_status(catalog: CatalogClient, backends: Backends, job_id: str) -> dict[str, Any]:
    """The job's state in the contract's shape."""
    job = await catalog.call("GetDenoiseJob", pb.GetDenoiseJobRequest(job_id=job_id))
    if job.state == "queued":
        ahead = await jobs_ahead(backends.js, job.queue_seq) if job.queue_seq else 0
        return {"state": "queued", "jobsAhead": ahead}
    if job.state == "in_progress":
        return {"state": "in_progress", "percent": int(job.percent)}
    if job.state == "succeeded":
        return {"state": "succeeded", "downloadPath": job.download_path}
    if job.state == "failed":
        return {"state": "failed", "reason": job.reason}
    return {"state": job.state}


@router.get("/remove-noise/{job_id}/status", summary="The state of a noise-removal job")
async def status(
    job_id: str, api_key: ApiKeyDep, catalog: CatalogDep, backends: NatsDep
) -> dict[str, Any]:
    return await job_status(catalog, backends, job_id)


@router.websocket("/wss/remove-noise/{job_id}/status")
async def status_socket(websocket: WebSocket, job_id: str) -> None:
    """Sends the job's state as JSON whenever it changes; closes after the final one."""
    app = websocket.app
    catalog: CatalogClient = app.state.catalog
    backends: Backends = app.state.backends
    key = websocket.headers.get("x-api-key") or websocket.query_params.get("apiKey")
    try:
        await check_api_key(catalog, app.state.settings, key)
        current = await job_status(catalog, backends, job_id)
    except CleanTracksError as exc:
        # 4401/4404: the HTTP status in WebSocket's application range, with the reason.
        await websocket.close(code=4000 + exc.http_status, reason=exc.message[:120])
        return
    await websocket.accept()
    changed = asyncio.Event()

    async def on_event(msg: Any) -> None:
        changed.set()

    subscription = await backends.nc.subscribe(progress_subject(job_id), cb=on_event)
    try:
        current = await job_status(catalog, backends, job_id)  # nothing missed since subscribing
        await websocket.send_json(current)
        while current["state"] not in _FINAL:
            # Events wake it at once; the queue position is re-read every second anyway.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), 1.0)
            changed.clear()
            state = await job_status(catalog, backends, job_id)
            if state != current:
                current = state
                await websocket.send_json(current)
        await websocket.close()
    except WebSocketDisconnect:
        pass
    finally:
        await subscription.unsubscribe()


@router.get("/dl/artifacts/clean/{name}", summary="Download a processed file")
async def download(name: str, backends: NatsDep) -> FileResponse:
    """Artifacts are addressed by an unguessable name, so no key is needed (as in the contract)."""
    if "/" in name or name.startswith("."):
        raise NotFound("Resource not found")
    path = Path(await asyncio.to_thread(_temp_file))
    try:
        await backends.blobs.get_to_file(ARTIFACT_PREFIX + name, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=media.MEDIA_TYPES.get(
            Path(name).suffix.lstrip(".").lower(), "application/octet-stream"
        ),
        filename=name,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _temp_file() -> str:
    fd, name = tempfile.mkstemp(prefix="artifact-")
    os.close(fd)
    return name
