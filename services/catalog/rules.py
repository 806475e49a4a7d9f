"""The catalog's pure rules: names, settings values and defaults, job transitions, statistics."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.wordlists import CENSOR_METHODS, SEVERITIES, normalize_word

__all__ = [
    "DENOISE_STATES",
    "JOB_STATUSES",
    "OUTPUT_FORMATS",
    "SETTING_DEFAULTS",
    "SETTING_GROUPS",
    "WHISPER_MODEL_SIZES",
    "StatisticsResult",
    "check_denoise_transition",
    "check_job_transition",
    "compute_statistics",
    "validate_allow",
    "validate_language",
    "validate_list_name",
    "validate_setting",
]

JOB_STATUSES = ("queued", "processing", "completed", "failed")
_TERMINAL = ("completed", "failed")
OUTPUT_FORMATS = ("mp3", "wav", "flac", "m4a", "ogg", "aac")
WHISPER_MODEL_SIZES = (
    "tiny",
    "tiny.en",
    "base",
    "base.en",
    "small",
    "small.en",
    "medium",
    "medium.en",
    "large",
    "large-v1",
    "large-v2",
    "large-v3",
    "large-v3-turbo",
    "turbo",
    "distil-small.en",
    "distil-medium.en",
    "distil-large-v2",
    "distil-large-v3",
)
THEMES = ("light", "dark", "auto")

# The values a user never seen gets, as the contract's example shows them.
SETTING_DEFAULTS: dict[str, Any] = {
    "default_word_list_id": None,  # None: whichever list is the default now
    "default_censor_method": "beep",
    "default_min_severity": "low",
    "preferred_output_format": "mp3",
    "preferred_bitrate": "192k",
    "preserve_metadata": True,
    "whisper_model_size": "base",
    "use_gpu": True,
    "theme": "light",
    "language": "en",
    "show_waveform": True,
    "auto_play_preview": False,
    "save_history": True,
    "save_transcriptions": False,
    "anonymous_mode": False,
}

SETTING_GROUPS: dict[str, tuple[str, ...]] = {
    "processing": ("default_word_list_id", "default_censor_method", "default_min_severity"),
    "audio": ("preferred_output_format", "preferred_bitrate", "preserve_metadata"),
    "model": ("whisper_model_size", "use_gpu"),
    "ui": ("theme", "language", "show_waveform", "auto_play_preview"),
    "privacy": ("save_history", "save_transcriptions", "anonymous_mode"),
}

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_BITRATE = re.compile(r"^(\d{2,3})k$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MODEL_FOLDER = re.compile(r"^[\w./ -]{1,200}$")


def validate_list_name(name: str) -> str:
    """Returns the trimmed list name.

    Raises:
        InvalidArgument: for an empty, over-long or control-character name.
    """
    cleaned = name.strip()
    if not cleaned:
        raise InvalidArgument("name must not be empty")
    if len(cleaned) > 200:
        raise InvalidArgument("name must be at most 200 characters")
    if _CONTROL.search(cleaned):
        raise InvalidArgument("name must not contain control characters")
    return cleaned


def validate_language(language: str, field: str = "language") -> str:
    """Returns a language code like "en" or "pt-BR", or raises InvalidArgument naming ``field``."""
    if not _LANGUAGE.match(language):
        raise InvalidArgument(f"{field} must be a language code like 'en', got {language!r}")
    return language


_MAX_ALLOW = 10_000


def validate_allow(words: Sequence[str]) -> list[str]:
    """Returns an allow-list normalized like listed words, deduplicated, sorted.

    Raises:
        InvalidArgument: for an empty or overlong word, or too many words.
    """
    if len(words) > _MAX_ALLOW:
        raise InvalidArgument(f"allow holds at most {_MAX_ALLOW} words")
    cleaned = set()
    for word in words:
        normalized = normalize_word(word)
        if not normalized or len(normalized) > 100:
            raise InvalidArgument(f"allow: {word!r} must be 1 to 100 characters")
        cleaned.add(normalized)
    return sorted(cleaned)


def _one_of(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidArgument(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def validate_setting(field: str, value: Any) -> Any:
    """Checks one flat setting's value; the word list's existence is the store's to check.

    Returns:
        The value to store.

    Raises:
        InvalidArgument: naming the field.
    """
    if field not in SETTING_DEFAULTS:
        raise InvalidArgument(f"unknown setting {field!r}")
    if field == "default_word_list_id":
        if value is not None and (not isinstance(value, int) or value <= 0):
            raise InvalidArgument("default_word_list_id must be a positive integer")
        return value
    if field == "default_censor_method":
        return _one_of(field, value, CENSOR_METHODS)
    if field == "default_min_severity":
        return _one_of(field, value, SEVERITIES)
    if field == "preferred_output_format":
        return _one_of(field, value.lower(), OUTPUT_FORMATS)
    if field == "preferred_bitrate":
        match = _BITRATE.match(value)
        if not match or not 32 <= int(match.group(1)) <= 320:
            raise InvalidArgument(
                f"preferred_bitrate must look like '192k', between 32k and 320k, got {value!r}"
            )
        return value
    if field == "whisper_model_size":
        # A size name, or a folder holding a converted model.
        if value in WHISPER_MODEL_SIZES or ("/" in value and _MODEL_FOLDER.match(value)):
            return value
        raise InvalidArgument(
            f"whisper_model_size must be one of {', '.join(WHISPER_MODEL_SIZES)} "
            f"or a model folder, got {value!r}"
        )
    if field == "theme":
        return _one_of(field, value, THEMES)
    if field == "language":
        return validate_language(value, field)
    if not isinstance(value, bool):
        raise InvalidArgument(f"{field} must be true or false")
    return value


def check_job_transition(job_id: str, current: str, new: str) -> None:
    """Raises unless a job may move from ``current`` to ``new``.

    Raises:
        InvalidArgument: for an unknown status.
        FailedPrecondition: for a job already completed or failed.
    """
    _one_of("status", new, JOB_STATUSES)
    if current in _TERMINAL:
        raise FailedPrecondition(f"job {job_id} is already {current}")
    if new == "queued" and current != "queued":
        raise FailedPrecondition(f"job {job_id} is {current} and cannot be queued again")


DENOISE_STATES = ("downloading", "queued", "in_progress", "succeeded", "failed")
_DENOISE_NEXT = {
    "downloading": ("downloading", "queued", "failed"),
    "queued": ("queued", "in_progress", "failed"),
    # A worker that dies mid-job leaves it to another, which starts it over.
    "in_progress": ("in_progress", "succeeded", "failed"),
}


def check_denoise_transition(job_id: str, current: str, new: str) -> None:
    """Raises unless a noise-removal job may move from ``current`` to ``new``.

    Raises:
        InvalidArgument: for an unknown state.
        FailedPrecondition: for a job already succeeded or failed, or a step backwards.
    """
    _one_of("state", new, DENOISE_STATES)
    if current not in _DENOISE_NEXT:
        raise FailedPrecondition(f"job {job_id} has already {current}")
    if new not in _DENOISE_NEXT[current]:
        raise FailedPrecondition(f"job {job_id} is {current} and cannot become {new}")


@dataclass(frozen=True)
class StatisticsResult:
    total_jobs: int
    completed_jobs: int
    failed_jobs: int
    success_rate: float
    total_audio_duration_hours: float
    total_words_detected: int
    total_words_censored: int
    average_processing_time_seconds: float


def compute_statistics(row: Mapping[str, Any]) -> StatisticsResult:
    """Turns the raw aggregates of the jobs table into the contract's statistics.

    Args:
        row: total, completed, failed, audio_seconds, words_detected, words_censored and
            avg_processing (None where no job counts).
    """
    total = int(row["total"] or 0)
    completed = int(row["completed"] or 0)
    return StatisticsResult(
        total_jobs=total,
        completed_jobs=completed,
        failed_jobs=int(row["failed"] or 0),
        success_rate=round(100.0 * completed / total, 2) if total else 0.0,
        total_audio_duration_hours=round(float(row["audio_seconds"] or 0.0) / 3600.0, 4),
        total_words_detected=int(row["words_detected"] or 0),
        total_words_censored=int(row["words_censored"] or 0),
        average_processing_time_seconds=round(float(row["avg_processing"] or 0.0), 2),
    )
