"""The noise-removal worker: fetches URL inputs, then denoises queued jobs.

Two JetStream work queues feed it. A job from a URL is first on the fetch queue (state
"downloading"): the file is fetched safely into the blob store and the job moves to the run
queue ("queued"). A worker takes it from there ("in_progress" with a percent), denoises it,
encodes it in the asked format, stores the artifact, PUTs it to the job's output URL when
there is one, and records "succeeded" or "failed" with a reason. A message is acknowledged
only when its step is recorded, and heartbeats keep a long job leased, so a worker that dies
leaves its job to another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import nats.aio.client
import numpy as np
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from cleantracks_proto import catalog_pb2 as cpb
from cleantracks_proto import catalog_pb2_grpc
from services.censor.denoise import DenoiseEngine
from services.common import media, urlfetch
from services.common.blobstore import ARTIFACT_PREFIX, FILE_PREFIX, BlobStore
from services.common.errors import CleanTracksError, InvalidArgument, Unavailable
from services.common.grpc_util import raise_domain_error
from services.common.jobqueue import (
    DENOISE_FETCH_CONSUMER,
    DENOISE_FETCH_STREAM,
    DENOISE_FETCH_SUBJECT,
    DENOISE_RUN_CONSUMER,
    DENOISE_RUN_STREAM,
    DENOISE_RUN_SUBJECT,
    DenoiseTask,
    JobEvent,
    enqueue_denoise,
    progress_subject,
)

__all__ = ["DenoiseWorker"]

logger = logging.getLogger(__name__)

_CHUNK_FRAMES = 48_000 * 5
_FINAL = ("succeeded", "failed")
# Progress is recorded at most this often, so a long job does not flood the catalog.
_PROGRESS_EVERY_SECONDS = 0.5


class DenoiseWorker:
    """Handed its connections and engine; ``run`` serves both queues until stopped."""

    def __init__(
        self,
        *,
        nc: nats.aio.client.Client,
        js: JetStreamContext,
        blobs: BlobStore,
        catalog: catalog_pb2_grpc.CatalogStub,
        engine: Callable[[], DenoiseEngine],
        fetch_policy: urlfetch.FetchPolicy,
        ack_wait: float,
        max_deliver: int,
        work_dir: str | None = None,
    ) -> None:
        self._nc = nc
        self._js = js
        self._blobs = blobs
        self._catalog = catalog
        self._engine_factory = engine
        self._engine: DenoiseEngine | None = None
        self._policy = fetch_policy
        self._ack_wait = ack_wait
        self._max_deliver = max_deliver
        self._work_dir = work_dir

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(
            self._serve(stop, DENOISE_FETCH_SUBJECT, DENOISE_FETCH_CONSUMER, DENOISE_FETCH_STREAM),
            self._serve(stop, DENOISE_RUN_SUBJECT, DENOISE_RUN_CONSUMER, DENOISE_RUN_STREAM),
        )

    async def _serve(self, stop: asyncio.Event, subject: str, durable: str, stream: str) -> None:
        sub = await self._js.pull_subscribe(subject, durable=durable, stream=stream)
        while not stop.is_set():
            try:
                messages = await sub.fetch(1, timeout=2)
            except NatsTimeout:
                continue
            for msg in messages:
                await self.handle(msg, fetch=subject == DENOISE_FETCH_SUBJECT)

    async def _call(self, method: str, request: object) -> Any:
        try:
            return await getattr(self._catalog, method)(request, timeout=30, wait_for_ready=True)
        except grpc.aio.AioRpcError as exc:
            raise raise_domain_error(exc) from None

    async def _update(self, job_id: str, **changes: Any) -> Any:
        return await self._call(
            "UpdateDenoiseJob", cpb.UpdateDenoiseJobRequest(job_id=job_id, **changes)
        )

    async def _publish(self, event: JobEvent) -> None:
        await self._nc.publish(progress_subject(event.job_id), event.to_json())

    async def _heartbeat(self, msg: Msg) -> None:
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            await msg.in_progress()

    async def handle(self, msg: Msg, *, fetch: bool) -> None:
        """Runs one step of a job (fetch or denoise) to its end, or leaves it for redelivery."""
        try:
            task = DenoiseTask.from_json(msg.data)
        except (ValueError, TypeError, KeyError):
            logger.error("dropping a malformed noise-removal message")
            await msg.term()
            return
        try:
            job = await self._call("GetDenoiseJob", cpb.GetDenoiseJobRequest(job_id=task.job_id))
        except Unavailable:
            await msg.nak(delay=2)
            return
        except CleanTracksError as exc:
            logger.error("dropping job %s: %s", task.job_id, exc.message)
            await msg.term()
            return
        if job.state in _FINAL or (fetch and job.state != "downloading"):
            await msg.ack()  # done by an earlier delivery whose ack was lost
            return
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        try:
            if fetch:
                await self._fetch(job)
            else:
                await self._denoise(job)
            await msg.ack()
        except Unavailable as exc:
            await self._retry_or_fail(msg, task.job_id, exc.message)
        except CleanTracksError as exc:
            await self._fail(task.job_id, exc.message)
            await msg.ack()
        except Exception as exc:  # noqa: BLE001 - no input may crash the worker
            logger.exception("job %s failed unexpectedly", task.job_id)
            await self._retry_or_fail(msg, task.job_id, f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.cancel()

    async def _retry_or_fail(self, msg: Msg, job_id: str, reason: str) -> None:
        if msg.metadata.num_delivered >= self._max_deliver:
            await self._fail(job_id, reason)
            await msg.ack()
        else:
            await msg.nak(delay=2)

    async def _fail(self, job_id: str, reason: str) -> None:
        logger.warning("noise-removal job %s failed: %s", job_id, reason)
        try:
            await self._update(job_id, state="failed", reason=reason)
        except CleanTracksError as exc:
            logger.error("could not record the failure of %s: %s", job_id, exc.message)
        await self._publish(JobEvent(job_id=job_id, type="failed", error=reason))

    async def _fetch(self, job: Any) -> None:
        await self._publish(JobEvent(job_id=job.job_id, type="progress", stage="downloading"))
        with tempfile.TemporaryDirectory(dir=self._work_dir, prefix="fetch-") as tmp:
            path = Path(tmp) / "input"
            result = await urlfetch.download(job.input, path, policy=self._policy)
            try:
                info = await asyncio.to_thread(media.probe, path)
            except InvalidArgument as exc:
                raise InvalidArgument(f"the input URL did not give audio or video: {exc}") from None
            stem = Path(result.filename or "").stem or "input"
            filename = f"{stem}.{info.kind}"
            key = f"{FILE_PREFIX}{job.job_id}"
            description = json.dumps({"filename": filename, "kind": info.kind})
            await self._blobs.put_file(key, path, description=description)
        await self._update(job.job_id, state="queued", input_key=key, input_filename=filename)
        seq = await enqueue_denoise(self._js, job.job_id, fetch=False)
        await self._update(job.job_id, queue_seq=seq)
        await self._publish(JobEvent(job_id=job.job_id, type="progress", stage="queued"))

    def _get_engine(self) -> DenoiseEngine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    async def _denoise(self, job: Any) -> None:
        await self._update(job.job_id, state="in_progress", percent=0.0)
        loop = asyncio.get_running_loop()
        last = 0.0

        def report(percent: float) -> None:
            """Called from the engine's thread; records progress now and then."""
            nonlocal last
            now = time.monotonic()
            if now - last < _PROGRESS_EVERY_SECONDS and percent < 100.0:
                return
            last = now
            asyncio.run_coroutine_threadsafe(self._progress(job.job_id, percent), loop)

        with tempfile.TemporaryDirectory(dir=self._work_dir, prefix="denoise-") as tmp:
            name = Path(job.input_filename or "input").name
            source = Path(tmp) / "in" / name
            source.parent.mkdir()
            await self._blobs.get_to_file(job.input_key, source)
            info = await asyncio.to_thread(media.probe, source)
            kind = job.output_extension or info.kind
            engine = await asyncio.to_thread(self._get_engine)
            artifact = f"audo_enhanced_{uuid.uuid4()}.{kind}"
            output = Path(tmp) / artifact
            await asyncio.to_thread(
                _denoise_with_progress,
                engine,
                source,
                output,
                output_format=kind,
                duration=info.duration,
                amount=job.amount,
                report=report,
            )
            if job.output_url:
                content_type = urlfetch.content_type_for_put(
                    job.output_url, media.MEDIA_TYPES.get(kind, "application/octet-stream")
                )
                await urlfetch.upload(
                    job.output_url, output, content_type=content_type, policy=self._policy
                )
            path = ARTIFACT_PREFIX + artifact
            await self._blobs.put_file(path, output)
        await self._update(job.job_id, state="succeeded", download_path=path)
        await self._publish(
            JobEvent(job_id=job.job_id, type="completed", result={"downloadPath": path})
        )

    async def _progress(self, job_id: str, percent: float) -> None:
        try:
            await self._update(job_id, percent=round(percent, 1))
        except CleanTracksError as exc:
            logger.debug("progress of %s not recorded: %s", job_id, exc.message)
            return
        await self._publish(
            JobEvent(job_id=job_id, type="progress", stage="denoise", percent=percent)
        )


def _denoise_with_progress(
    engine: DenoiseEngine,
    source: Path,
    output: Path,
    *,
    output_format: str,
    duration: float,
    amount: int,
    report: Callable[[float], None],
) -> None:
    """Decodes, denoises and encodes the file as one stream, reporting the share done.

    Only a few blocks of audio are in memory at a time, however long the file is.
    The share is of `duration`, the probed length, as the denoised audio is encoded.
    """
    with media.decode_stream(source, chunk_frames=_CHUNK_FRAMES) as audio:
        total = max(1, round(duration * audio.sample_rate))
        done = 0

        def counted(parts: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
            nonlocal done
            for part in parts:
                yield part
                done += part.shape[0]
                report(min(99.0, 100.0 * done / total))

        clean = engine.denoise_stream(audio, audio.sample_rate, amount=amount)
        media.encode_stream(
            counted(clean), audio.sample_rate, source, output, output_format=output_format
        )
    report(100.0)
