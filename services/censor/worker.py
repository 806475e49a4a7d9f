"""The censor worker: pulls jobs from the JetStream queue and runs the pipeline on each.

A job is acknowledged only after its result is stored and its record completed, and a
heartbeat keeps it leased while it runs, so a worker that dies leaves the job to another.
The catalog refuses to complete a job twice, so a redelivered job is finished once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import nats.aio.client
import numpy as np
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from cleantracks_proto import catalog_pb2 as cpb
from cleantracks_proto import catalog_pb2_grpc, transcriber_pb2_grpc
from cleantracks_proto import transcriber_pb2 as tpb
from services.censor.dsp import Span
from services.censor.matching import Token
from services.censor.pipeline import CensorRequest, Denoise, run_censor
from services.censor.report import build_report
from services.common import media
from services.common.blobstore import BlobStore
from services.common.errors import CleanTracksError, Unavailable
from services.common.grpc_util import raise_domain_error
from services.common.jobqueue import (
    CENSOR_CONSUMER,
    CENSOR_SUBJECT,
    STREAM,
    CensorJob,
    JobEvent,
    completed_result,
    progress_subject,
)
from services.common.wordlist_proto import entry_from_proto

__all__ = ["CensorWorker"]

logger = logging.getLogger(__name__)

_PCM_CHUNK = 16000 * 5  # five seconds of 16 kHz samples per message


class CensorWorker:
    """Handed its connections; ``run`` serves until the stop event is set."""

    def __init__(
        self,
        *,
        nc: nats.aio.client.Client,
        js: JetStreamContext,
        blobs: BlobStore,
        catalog: catalog_pb2_grpc.CatalogStub,
        transcriber: transcriber_pb2_grpc.TranscriberStub,
        ack_wait: float,
        max_deliver: int,
        work_dir: str | None = None,
        denoise: Denoise | None = None,
    ) -> None:
        self._nc = nc
        self._denoise = denoise
        self._js = js
        self._blobs = blobs
        self._catalog = catalog
        self._transcriber = transcriber
        self._ack_wait = ack_wait
        self._max_deliver = max_deliver
        self._work_dir = work_dir

    async def run(self, stop: asyncio.Event) -> None:
        """Fetches and handles one job at a time until ``stop`` is set."""
        sub = await self._js.pull_subscribe(CENSOR_SUBJECT, durable=CENSOR_CONSUMER, stream=STREAM)
        while not stop.is_set():
            try:
                messages = await sub.fetch(1, timeout=2)
            except NatsTimeout:
                continue
            for msg in messages:
                await self.handle(msg)

    async def _call(self, method: str, request: object) -> object:
        try:
            return await getattr(self._catalog, method)(request, timeout=30, wait_for_ready=True)
        except grpc.aio.AioRpcError as exc:
            raise raise_domain_error(exc) from None

    async def _publish(self, event: JobEvent) -> None:
        await self._nc.publish(progress_subject(event.job_id), event.to_json())

    async def _heartbeat(self, msg: Msg) -> None:
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            await msg.in_progress()

    async def handle(self, msg: Msg) -> None:
        """Runs one delivered job to its end: completed, failed, or left for redelivery."""
        try:
            job = CensorJob.from_json(msg.data)
        except (ValueError, TypeError):
            logger.error("dropping a malformed job message")
            await msg.term()
            return
        try:
            record = await self._call("GetJob", cpb.GetJobRequest(job_id=job.job_id))
        except Unavailable:
            await msg.nak(delay=2)
            return
        except CleanTracksError as exc:
            logger.error("dropping job %s: %s", job.job_id, exc.message)
            await msg.term()
            return
        if record.status in ("completed", "failed"):  # type: ignore[attr-defined]
            await msg.ack()  # finished by an earlier delivery whose ack was lost
            return
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        try:
            await self._process(job)
            await msg.ack()
        except Unavailable as exc:
            await self._retry_or_fail(msg, job, exc.message)
        except CleanTracksError as exc:
            await self._fail(job, f"Failed to process audio: {exc.message}")
            await msg.ack()
        except Exception as exc:  # noqa: BLE001 - no input may crash the worker
            logger.exception("job %s failed unexpectedly", job.job_id)
            await self._retry_or_fail(msg, job, f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.cancel()

    async def _retry_or_fail(self, msg: Msg, job: CensorJob, reason: str) -> None:
        if msg.metadata.num_delivered >= self._max_deliver:
            await self._fail(job, f"Failed to process audio: {reason}")
            await msg.ack()
        else:
            await msg.nak(delay=2)

    async def _fail(self, job: CensorJob, message: str) -> None:
        logger.warning("job %s failed: %s", job.job_id, message)
        try:
            await self._call(
                "UpdateJob",
                cpb.UpdateJobRequest(job_id=job.job_id, status="failed", error_message=message),
            )
        except CleanTracksError as exc:
            logger.error("could not record the failure of %s: %s", job.job_id, exc.message)
        await self._publish(JobEvent(job_id=job.job_id, type="failed", error=message))

    async def _process(self, job: CensorJob) -> None:
        await self._call("UpdateJob", cpb.UpdateJobRequest(job_id=job.job_id, status="processing"))

        async def progress(stage: str, percent: float, message: str) -> None:
            await self._publish(
                JobEvent(
                    job_id=job.job_id,
                    type="progress",
                    stage=stage,
                    percent=percent,
                    message=message,
                )
            )

        words_reply = await self._call("ListWords", cpb.ListWordsRequest(list_id=job.word_list_id))
        entries = [entry_from_proto(w) for w in words_reply.words]  # type: ignore[attr-defined]
        spans = None
        if job.rerender:
            stored = await self._call("GetJobReport", cpb.GetJobRequest(job_id=job.job_id))
            report = json.loads(stored.report_json)  # type: ignore[attr-defined]
            spans = [Span(float(s["start"]), float(s["end"])) for s in report["spans"]]
        with tempfile.TemporaryDirectory(dir=self._work_dir, prefix="censor-") as tmp:
            # Named as uploaded (the gateway made the name safe), so errors name the user's file.
            input_path = Path(tmp) / "input" / (Path(job.input_filename).name or "upload.bin")
            input_path.parent.mkdir()
            await self._blobs.get_to_file(job.input_key, input_path)
            info = await asyncio.to_thread(media.probe, input_path)
            kind = job.output_format or info.kind
            output_name = f"{Path(job.input_filename).stem or 'audio'}_censored.{kind}"
            request = CensorRequest(
                input_path=input_path,
                output_path=Path(tmp) / output_name,
                entries=entries,
                method=job.censor_method,
                min_severity=job.min_severity,
                output_format=job.output_format or None,
                bitrate=job.bitrate or None,
                preserve_metadata=job.preserve_metadata,
                denoise=job.denoise,
                dry_run=job.dry_run,
                spans=spans,
                allow=list(words_reply.list.allow),  # type: ignore[attr-defined]
            )
            # The list's language (its primary subtag, "pt" of "pt-BR"): Whisper skips the
            # detection, which costs seconds and can go wrong on short clips.
            language = words_reply.list.language.split("-")[0].lower()  # type: ignore[attr-defined]
            transcribe = self._transcribe(job, language)
            result = await run_censor(request, transcribe, progress, self._denoise)
            output_key = ""
            if result.output_path is not None:
                output_key = f"results/{job.job_id}/{output_name}"
                await self._blobs.put_file(output_key, result.output_path)
        changes: dict[str, Any] = {
            "status": "completed",
            "audio_duration_seconds": round(result.duration, 3),
        }
        if result.output_path is not None:
            changes.update(output_filename=output_name, output_key=output_key)
        if not job.rerender:  # a re-render keeps the report it was made from
            changes.update(
                words_detected=result.words_detected,
                words_censored=len(result.matches),
                report_json=json.dumps(build_report(result)),
            )
        done = await self._call("UpdateJob", cpb.UpdateJobRequest(job_id=job.job_id, **changes))
        await self._publish(
            JobEvent(
                job_id=job.job_id,
                type="completed",
                result=completed_result(
                    output_name if result.output_path is not None else "",
                    done.words_detected,  # type: ignore[attr-defined]
                    done.words_censored,  # type: ignore[attr-defined]
                    done.processing_time_seconds,  # type: ignore[attr-defined]
                ),
            )
        )

    def _transcribe(self, job: CensorJob, language: str):  # noqa: ANN202 - the pipeline's Transcribe
        async def transcribe(
            pcm: np.ndarray, duration: float, hotwords: Sequence[str]
        ) -> AsyncIterator[Token | float]:
            async def requests() -> AsyncIterator[tpb.TranscribeRequest]:
                yield tpb.TranscribeRequest(
                    config=tpb.TranscribeConfig(
                        model=job.whisper_model,
                        device="auto" if job.use_gpu else "cpu",
                        hotwords=list(hotwords),
                        duration_seconds=duration,
                        language=language,
                    )
                )
                for i in range(0, len(pcm), _PCM_CHUNK):
                    chunk = np.ascontiguousarray(pcm[i : i + _PCM_CHUNK], dtype="<f4")
                    yield tpb.TranscribeRequest(pcm_f32le=chunk.tobytes())

            try:
                async for reply in self._transcriber.Transcribe(requests()):
                    if reply.HasField("word"):
                        w = reply.word
                        yield Token(w.text, w.start, w.end, w.probability)
                    elif reply.HasField("progress"):
                        yield reply.progress.percent
            except grpc.aio.AioRpcError as exc:
                raise raise_domain_error(exc) from None

        return transcribe
