"""The catalog's gRPC adapter: converts protobuf messages and calls the store in one transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cleantracks_proto import catalog_pb2 as pb
from cleantracks_proto import catalog_pb2_grpc
from services.catalog import rules, store
from services.catalog.models import ApiKeyRow, DenoiseJob, Job
from services.common.errors import InvalidArgument
from services.common.grpc_util import to_timestamp
from services.common.wordlist_proto import entry_from_proto, entry_to_proto

__all__ = ["CatalogServicer"]

_SETTING_FIELDS = tuple(rules.SETTING_DEFAULTS)
_JOB_UPDATE_FIELDS = (
    "status",
    "output_filename",
    "audio_duration_seconds",
    "words_detected",
    "words_censored",
    "error_message",
    "output_key",
    "report_json",
)


_DENOISE_UPDATE_FIELDS = (
    "state",
    "percent",
    "input_key",
    "input_filename",
    "download_path",
    "output_key",
    "reason",
    "queue_seq",
)


def _api_key_to_proto(row: ApiKeyRow) -> pb.ApiKey:
    return pb.ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=to_timestamp(row.created_at),
        revoked=row.revoked_at is not None,
    )


def _denoise_to_proto(job: DenoiseJob) -> pb.DenoiseJob:
    message = pb.DenoiseJob(
        id=job.id,
        job_id=job.job_id,
        state=job.state,
        input=job.input,
        input_key=job.input_key,
        input_filename=job.input_filename,
        output_extension=job.output_extension,
        output_url=job.output_url,
        amount=job.amount,
        percent=job.percent,
        download_path=job.download_path,
        output_key=job.output_key,
        reason=job.reason,
        queue_seq=job.queue_seq,
        api_key_id=job.api_key_id or 0,
        created_at=to_timestamp(job.created_at),
    )
    if job.started_at is not None:
        message.started_at.CopyFrom(to_timestamp(job.started_at))
    if job.completed_at is not None:
        message.completed_at.CopyFrom(to_timestamp(job.completed_at))
    return message


def _list_to_proto(info: store.ListInfo) -> pb.WordList:
    row = info.row
    return pb.WordList(
        id=row.id,
        name=row.name,
        description=row.description,
        language=row.language,
        is_default=row.is_default,
        is_active=row.is_active,
        version=row.version,
        word_count=info.word_count,
        created_at=to_timestamp(row.created_at),
        updated_at=to_timestamp(row.updated_at),
        allow=list(row.allow_words or []),
    )


def _settings_to_proto(row_id: int, user_id: str, values: dict[str, Any]) -> pb.UserSettings:
    return pb.UserSettings(
        id=row_id,
        user_id=user_id,
        processing=pb.ProcessingSettings(
            default_word_list_id=values["default_word_list_id"] or 0,
            default_censor_method=values["default_censor_method"],
            default_min_severity=values["default_min_severity"],
        ),
        audio=pb.AudioSettings(
            preferred_output_format=values["preferred_output_format"],
            preferred_bitrate=values["preferred_bitrate"],
            preserve_metadata=values["preserve_metadata"],
            output_format_set=values["output_format_set"],
            bitrate_set=values["bitrate_set"],
        ),
        model=pb.ModelSettings(
            whisper_model_size=values["whisper_model_size"], use_gpu=values["use_gpu"]
        ),
        ui=pb.UiSettings(
            theme=values["theme"],
            language=values["language"],
            show_waveform=values["show_waveform"],
            auto_play_preview=values["auto_play_preview"],
        ),
        privacy=pb.PrivacySettings(
            save_history=values["save_history"],
            save_transcriptions=values["save_transcriptions"],
            anonymous_mode=values["anonymous_mode"],
        ),
    )


def _job_to_proto(job: Job) -> pb.Job:
    message = pb.Job(
        id=job.id,
        job_id=job.job_id,
        input_filename=job.input_filename,
        output_filename=job.output_filename or "",
        status=job.status,
        created_at=to_timestamp(job.created_at),
        words_detected=job.words_detected,
        words_censored=job.words_censored,
        user_id=job.user_id,
        word_list_id=job.word_list_id or 0,
        censor_method=job.censor_method,
        min_severity=job.min_severity,
        input_key=job.input_key,
        output_key=job.output_key,
        output_format=job.output_format,
        dry_run=job.dry_run,
        source_job_id=job.source_job_id,
    )
    if job.started_at is not None:
        message.started_at.CopyFrom(to_timestamp(job.started_at))
    if job.completed_at is not None:
        message.completed_at.CopyFrom(to_timestamp(job.completed_at))
    if job.processing_time_seconds is not None:
        message.processing_time_seconds = job.processing_time_seconds
    if job.audio_duration_seconds is not None:
        message.audio_duration_seconds = job.audio_duration_seconds
    if job.error_message is not None:
        message.error_message = job.error_message
    return message


def _set_fields(message: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(message, name) for name in names if message.HasField(name)}


class CatalogServicer(catalog_pb2_grpc.CatalogServicer):
    """Handed a session factory; each call runs in one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions.begin() as session:
            yield session

    async def ListWordLists(
        self, request: pb.ListWordListsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWordListsResponse:
        async with self._tx() as session:
            infos = await store.list_word_lists(session=session, active_only=request.active_only)
        return pb.ListWordListsResponse(lists=[_list_to_proto(i) for i in infos])

    async def CreateWordList(
        self, request: pb.CreateWordListRequest, context: grpc.aio.ServicerContext
    ) -> pb.WordList:
        async with self._tx() as session:
            info = await store.create_word_list(
                session=session,
                name=request.name,
                description=request.description,
                language=request.language,
                is_default=request.is_default,
                is_active=request.is_active,
            )
        return _list_to_proto(info)

    async def GetWordList(
        self, request: pb.GetWordListRequest, context: grpc.aio.ServicerContext
    ) -> pb.WordListDetail:
        async with self._tx() as session:
            stats = await store.word_list_stats(session=session, list_id=request.id)
        return pb.WordListDetail(
            list=_list_to_proto(stats.info),
            by_severity=stats.by_severity,
            by_category=stats.by_category,
            has_variations=stats.has_variations,
        )

    async def GetDefaultWordList(
        self, request: pb.GetDefaultWordListRequest, context: grpc.aio.ServicerContext
    ) -> pb.WordList:
        async with self._tx() as session:
            info = await store.get_default_word_list(session=session)
        return _list_to_proto(info)

    async def UpdateWordList(
        self, request: pb.UpdateWordListRequest, context: grpc.aio.ServicerContext
    ) -> pb.WordList:
        changes = _set_fields(
            request, ("name", "description", "language", "is_default", "is_active")
        )
        if request.HasField("allow"):
            changes["allow"] = list(request.allow.words)
        async with self._tx() as session:
            info = await store.update_word_list(
                session=session, list_id=request.id, changes=changes
            )
        return _list_to_proto(info)

    async def DeleteWordList(
        self, request: pb.DeleteWordListRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteWordListResponse:
        async with self._tx() as session:
            await store.delete_word_list(session=session, list_id=request.id)
        return pb.DeleteWordListResponse(id=request.id)

    async def ListWords(
        self, request: pb.ListWordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWordsResponse:
        async with self._tx() as session:
            info, entries = await store.list_words(session=session, list_id=request.list_id)
        return pb.ListWordsResponse(
            list=_list_to_proto(info), words=[entry_to_proto(e) for e in entries]
        )

    async def AddWords(
        self, request: pb.AddWordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddWordsResponse:
        entries = [entry_from_proto(w) for w in request.words]
        async with self._tx() as session:
            added, updated, info = await store.add_words(
                session=session, list_id=request.list_id, entries=entries
            )
        return pb.AddWordsResponse(added=added, updated=updated, list=_list_to_proto(info))

    async def RemoveWords(
        self, request: pb.RemoveWordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveWordsResponse:
        async with self._tx() as session:
            removed, not_found, info = await store.remove_words(
                session=session, list_id=request.list_id, words=list(request.words)
            )
        return pb.RemoveWordsResponse(
            removed=removed, not_found=not_found, list=_list_to_proto(info)
        )

    async def ImportWords(
        self, request: pb.ImportWordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportWordsResponse:
        entries = [entry_from_proto(w) for w in request.words]
        async with self._tx() as session:
            result = await store.import_words(
                session=session,
                list_id=request.list_id,
                entries=entries,
                merge=request.merge,
                allow=list(request.allow.words) if request.HasField("allow") else None,
            )
        return pb.ImportWordsResponse(
            added=result.added,
            updated=result.updated,
            removed=result.removed,
            list=_list_to_proto(result.info),
        )

    async def GetSettings(
        self, request: pb.GetSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.UserSettings:
        user_id = request.user_id or "default"
        async with self._tx() as session:
            row_id, values = await store.get_settings(session=session, user_id=user_id)
        return _settings_to_proto(row_id, user_id.strip(), values)

    async def UpdateSettings(
        self, request: pb.UpdateSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.UserSettings:
        user_id = request.user_id or "default"
        changes = _set_fields(request, _SETTING_FIELDS)
        async with self._tx() as session:
            row_id, values = await store.update_settings(
                session=session, user_id=user_id, changes=changes
            )
        return _settings_to_proto(row_id, user_id.strip(), values)

    async def CreateJob(
        self, request: pb.CreateJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        values = {
            "job_id": request.job_id,
            "input_filename": request.input_filename,
            "user_id": request.user_id or "default",
            "word_list_id": request.word_list_id or None,
            "censor_method": request.censor_method,
            "min_severity": request.min_severity,
            "input_key": request.input_key,
            "output_format": request.output_format,
            "dry_run": request.dry_run,
            "source_job_id": request.source_job_id,
        }
        async with self._tx() as session:
            job = await store.create_job(session=session, values=values)
        return _job_to_proto(job)

    async def UpdateJob(
        self, request: pb.UpdateJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        changes = _set_fields(request, _JOB_UPDATE_FIELDS)
        async with self._tx() as session:
            job = await store.update_job(session=session, job_id=request.job_id, changes=changes)
        return _job_to_proto(job)

    async def GetJob(self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext) -> pb.Job:
        async with self._tx() as session:
            job = await store.get_job(session=session, job_id=request.job_id)
        return _job_to_proto(job)

    async def GetJobReport(
        self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.JobReport:
        async with self._tx() as session:
            report = await store.get_job_report(session=session, job_id=request.job_id)
        return pb.JobReport(job_id=request.job_id, report_json=json.dumps(report))

    async def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListJobsResponse:
        if request.limit < 1 or request.limit > 1000:
            raise InvalidArgument("limit must be between 1 and 1000")
        if request.status and request.status not in rules.JOB_STATUSES:
            raise InvalidArgument(
                f"status must be one of {', '.join(rules.JOB_STATUSES)}, got {request.status!r}"
            )
        async with self._tx() as session:
            jobs = await store.list_jobs(
                session=session, limit=request.limit, status=request.status or None
            )
        return pb.ListJobsResponse(jobs=[_job_to_proto(j) for j in jobs])

    async def GetStatistics(
        self, request: pb.GetStatisticsRequest, context: grpc.aio.ServicerContext
    ) -> pb.Statistics:
        async with self._tx() as session:
            stats = await store.get_statistics(session=session)
        return pb.Statistics(**stats.__dict__)

    # API keys

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatedApiKey:
        async with self._tx() as session:
            row, secret = await store.create_api_key(session=session, name=request.name)
            return pb.CreatedApiKey(key=_api_key_to_proto(row), secret=secret)

    async def VerifyApiKey(
        self, request: pb.VerifyApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApiKey:
        async with self._tx() as session:
            row = await store.verify_api_key(session=session, secret=request.secret)
            return _api_key_to_proto(row)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        async with self._tx() as session:
            rows = await store.list_api_keys(session=session)
            return pb.ListApiKeysResponse(keys=[_api_key_to_proto(r) for r in rows])

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApiKey:
        async with self._tx() as session:
            row = await store.revoke_api_key(session=session, key_id=request.id)
            return _api_key_to_proto(row)

    # Noise-removal jobs

    async def CreateDenoiseJob(
        self, request: pb.CreateDenoiseJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.DenoiseJob:
        values = {
            "job_id": request.job_id,
            "state": request.state,
            "input": request.input,
            "input_key": request.input_key,
            "input_filename": request.input_filename,
            "output_extension": request.output_extension,
            "output_url": request.output_url,
            "amount": request.amount,
            "api_key_id": request.api_key_id or None,
        }
        async with self._tx() as session:
            job = await store.create_denoise_job(session=session, values=values)
            return _denoise_to_proto(job)

    async def UpdateDenoiseJob(
        self, request: pb.UpdateDenoiseJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.DenoiseJob:
        changes = _set_fields(request, _DENOISE_UPDATE_FIELDS)
        async with self._tx() as session:
            job = await store.update_denoise_job(
                session=session, job_id=request.job_id, changes=changes
            )
            return _denoise_to_proto(job)

    async def GetDenoiseJob(
        self, request: pb.GetDenoiseJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.DenoiseJob:
        async with self._tx() as session:
            job = await store.get_denoise_job(session=session, job_id=request.job_id)
            return _denoise_to_proto(job)
