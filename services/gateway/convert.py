"""Conversions between catalog proto messages and the contract's JSON shapes."""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from cleantracks_proto import catalog_pb2 as pb
from services.common.grpc_util import from_timestamp

__all__ = ["iso", "job_json", "job_summary_json", "settings_json", "word_list_json"]


def iso(ts: Timestamp, present: bool = True) -> str | None:
    """Returns "2024-01-15T10:30:00Z" for a set Timestamp, None for an unset one."""
    value = from_timestamp(ts, present)
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def word_list_json(wl: pb.WordList) -> dict[str, Any]:
    return {
        "id": wl.id,
        "name": wl.name,
        "description": wl.description,
        "language": wl.language,
        "is_default": wl.is_default,
        "is_active": wl.is_active,
        "word_count": wl.word_count,
        "created_at": iso(wl.created_at),
        "updated_at": iso(wl.updated_at),
        "version": wl.version,
    }


def settings_json(s: pb.UserSettings) -> dict[str, Any]:
    return {
        "id": s.id,
        "user_id": s.user_id,
        "processing": {
            "default_word_list_id": s.processing.default_word_list_id or None,
            "default_censor_method": s.processing.default_censor_method,
            "default_min_severity": s.processing.default_min_severity,
        },
        "audio": {
            "preferred_output_format": s.audio.preferred_output_format,
            "preferred_bitrate": s.audio.preferred_bitrate,
            "preserve_metadata": s.audio.preserve_metadata,
        },
        "model": {"whisper_model_size": s.model.whisper_model_size, "use_gpu": s.model.use_gpu},
        "ui": {
            "theme": s.ui.theme,
            "language": s.ui.language,
            "show_waveform": s.ui.show_waveform,
            "auto_play_preview": s.ui.auto_play_preview,
        },
        "privacy": {
            "save_history": s.privacy.save_history,
            "save_transcriptions": s.privacy.save_transcriptions,
            "anonymous_mode": s.privacy.anonymous_mode,
        },
    }


def job_summary_json(job: pb.Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "job_id": job.job_id,
        "input_filename": job.input_filename,
        "status": job.status,
        "created_at": iso(job.created_at),
    }


def job_json(job: pb.Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "job_id": job.job_id,
        "input_filename": job.input_filename,
        "output_filename": job.output_filename or None,
        "status": job.status,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at, job.HasField("started_at")),
        "completed_at": iso(job.completed_at, job.HasField("completed_at")),
        "processing_time_seconds": job.processing_time_seconds
        if job.HasField("processing_time_seconds")
        else None,
        "audio_duration_seconds": job.audio_duration_seconds
        if job.HasField("audio_duration_seconds")
        else None,
        "words_detected": job.words_detected,
        "words_censored": job.words_censored,
        "error_message": job.error_message if job.HasField("error_message") else None,
        "dry_run": job.dry_run,
        "source_job_id": job.source_job_id or None,
    }
