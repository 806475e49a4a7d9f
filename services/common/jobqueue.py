"""The JetStream work queue of jobs and the NATS subjects of their progress events."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError

__all__ = [
    "CENSOR_CONSUMER",
    "CENSOR_SUBJECT",
    "STREAM",
    "DENOISE_FETCH_CONSUMER",
    "DENOISE_FETCH_STREAM",
    "DENOISE_FETCH_SUBJECT",
    "DENOISE_RUN_CONSUMER",
    "DENOISE_RUN_STREAM",
    "DENOISE_RUN_SUBJECT",
    "CensorJob",
    "DenoiseTask",
    "JobEvent",
    "completed_result",
    "enqueue",
    "enqueue_denoise",
    "ensure_denoise_queues",
    "ensure_queue",
    "jobs_ahead",
    "progress_subject",
    "queue_depth",
]

STREAM = "CLEANTRACKS_JOBS"
CENSOR_SUBJECT = "jobs.censor"
CENSOR_CONSUMER = "censor-workers"
PROGRESS_PREFIX = "progress"
# Noise removal: URL inputs are fetched first (their own queue, so "downloading" comes
# before "queued"), then every job waits on the run queue, whose order gives jobsAhead.
DENOISE_FETCH_STREAM = "CLEANTRACKS_DENOISE_FETCH"
DENOISE_FETCH_SUBJECT = "denoise.fetch"
DENOISE_FETCH_CONSUMER = "denoise-fetchers"
DENOISE_RUN_STREAM = "CLEANTRACKS_DENOISE_RUN"
DENOISE_RUN_SUBJECT = "denoise.run"
DENOISE_RUN_CONSUMER = "denoise-workers"


@dataclass(frozen=True)
class CensorJob:
    """What a censor worker needs to run one job; the catalog's record holds the rest."""

    job_id: str
    input_key: str
    input_filename: str
    word_list_id: int
    censor_method: str
    min_severity: str
    user_id: str = "default"
    output_format: str = ""
    bitrate: str = ""
    preserve_metadata: bool = True
    whisper_model: str = ""
    use_gpu: bool = True
    denoise: int = 0  # 0: off; 1..100: noise removal before transcription and rendering
    dry_run: bool = False  # transcribe and match only; the report is the result
    rerender: bool = False  # render the spans of the job's stored report, no transcription

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> CensorJob:
        """Parses a queued job; unknown keys from a newer gateway are ignored."""
        raw = json.loads(data)
        known = {f: raw[f] for f in cls.__dataclass_fields__ if f in raw}
        return cls(**known)


@dataclass(frozen=True)
class DenoiseTask:
    """A noise-removal job on the fetch or the run queue; the catalog's record holds the rest."""

    job_id: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> DenoiseTask:
        raw = json.loads(data)
        return cls(job_id=str(raw["job_id"]))


@dataclass(frozen=True)
class JobEvent:
    """A progress, completion or failure event of one job, published on progress.<job_id>."""

    job_id: str
    type: str  # progress, completed, failed
    stage: str = ""
    percent: float = 0.0
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    timestamp: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> JobEvent:
        raw = json.loads(data)
        return cls(**{f: raw[f] for f in cls.__dataclass_fields__ if f in raw})


def completed_result(
    output_filename: str, words_detected: int, words_censored: int, processing_time: float
) -> dict[str, Any]:
    """The ``result`` of a job_completed event, as the contract shows it."""
    return {
        "output_filename": output_filename,
        "statistics": {
            "words_detected": words_detected,
            "words_censored": words_censored,
            "processing_time": processing_time,
        },
    }


def progress_subject(job_id: str) -> str:
    return f"{PROGRESS_PREFIX}.{job_id}"


async def ensure_queue(
    js: JetStreamContext, *, ack_wait: float = 60.0, max_deliver: int = 5
) -> None:
    """Creates the work-queue stream and the durable censor consumer where missing.

    A message stays on the queue until a worker acknowledges it; a worker that dies leaves it
    to be redelivered to another once ``ack_wait`` passes without a heartbeat.
    """
    config = api.StreamConfig(
        name=STREAM,
        subjects=[CENSOR_SUBJECT],
        retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE,
        duplicate_window=600.0,
    )
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except BadRequestError:
            pass  # created concurrently by another process
    consumer = api.ConsumerConfig(
        durable_name=CENSOR_CONSUMER,
        filter_subject=CENSOR_SUBJECT,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=max_deliver,
    )
    try:
        await js.consumer_info(STREAM, CENSOR_CONSUMER)
    except NotFoundError:
        try:
            await js.add_consumer(STREAM, consumer)
        except BadRequestError:
            pass


async def enqueue(js: JetStreamContext, job: CensorJob) -> int:
    """Puts a job on the queue, deduplicated by job id; returns its stream sequence."""
    ack = await js.publish(
        CENSOR_SUBJECT, job.to_json(), stream=STREAM, headers={"Nats-Msg-Id": job.job_id}
    )
    return int(ack.seq)


async def queue_depth(js: JetStreamContext) -> int:
    """Jobs waiting or in flight on the censor consumer."""
    info = await js.consumer_info(STREAM, CENSOR_CONSUMER)
    return int((info.num_pending or 0) + (info.num_ack_pending or 0))


async def _ensure_work_queue(
    js: JetStreamContext,
    stream: str,
    subject: str,
    consumer: str,
    ack_wait: float,
    max_deliver: int,
) -> None:
    try:
        await js.stream_info(stream)
    except NotFoundError:
        try:
            await js.add_stream(
                api.StreamConfig(
                    name=stream,
                    subjects=[subject],
                    retention=api.RetentionPolicy.WORK_QUEUE,
                    storage=api.StorageType.FILE,
                    duplicate_window=600.0,
                )
            )
        except BadRequestError:
            pass  # created concurrently by another process
    try:
        await js.consumer_info(stream, consumer)
    except NotFoundError:
        try:
            await js.add_consumer(
                stream,
                api.ConsumerConfig(
                    durable_name=consumer,
                    filter_subject=subject,
                    ack_policy=api.AckPolicy.EXPLICIT,
                    ack_wait=ack_wait,
                    max_deliver=max_deliver,
                ),
            )
        except BadRequestError:
            pass


async def ensure_denoise_queues(
    js: JetStreamContext, *, ack_wait: float = 60.0, max_deliver: int = 5
) -> None:
    """Creates the noise-removal fetch and run queues and their durable consumers."""
    await _ensure_work_queue(
        js,
        DENOISE_FETCH_STREAM,
        DENOISE_FETCH_SUBJECT,
        DENOISE_FETCH_CONSUMER,
        ack_wait,
        max_deliver,
    )
    await _ensure_work_queue(
        js, DENOISE_RUN_STREAM, DENOISE_RUN_SUBJECT, DENOISE_RUN_CONSUMER, ack_wait, max_deliver
    )


async def enqueue_denoise(js: JetStreamContext, job_id: str, *, fetch: bool) -> int:
    """Puts a noise-removal job on the fetch or the run queue; returns its stream sequence."""
    subject, stream = (
        (DENOISE_FETCH_SUBJECT, DENOISE_FETCH_STREAM)
        if fetch
        else (DENOISE_RUN_SUBJECT, DENOISE_RUN_STREAM)
    )
    ack = await js.publish(
        subject,
        DenoiseTask(job_id).to_json(),
        stream=stream,
        headers={"Nats-Msg-Id": f"{subject}:{job_id}"},
    )
    return int(ack.seq)


async def jobs_ahead(js: JetStreamContext, queue_seq: int) -> int:
    """How many jobs wait on the run queue ahead of the one at ``queue_seq``.

    Counts the messages not yet handed to a worker that came before it, and the ones
    workers hold now: every job that will be worked before this one.
    """
    info = await js.consumer_info(DENOISE_RUN_STREAM, DENOISE_RUN_CONSUMER)
    delivered = info.delivered.stream_seq if info.delivered else 0
    waiting = max(0, queue_seq - (delivered or 0) - 1)
    return waiting + int(info.num_ack_pending or 0)
