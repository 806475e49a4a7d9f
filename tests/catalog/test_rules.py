"""The catalog's pure rules."""

from __future__ import annotations

import pytest

from services.catalog import rules
from services.common.errors import FailedPrecondition, InvalidArgument


def test_list_name_is_trimmed_and_checked():
    assert rules.validate_list_name("  Custom List ") == "Custom List"
    for bad in ("", "   ", "x" * 201, "tab\there"):
        with pytest.raises(InvalidArgument, match="name"):
            rules.validate_list_name(bad)


@pytest.mark.parametrize("code", ["en", "de", "pt-BR", "zh-Hant"])
def test_language_codes_accepted(code):
    assert rules.validate_language(code) == code


@pytest.mark.parametrize("code", ["", "EN", "english", "e", "en_US"])
def test_language_codes_rejected(code):
    with pytest.raises(InvalidArgument, match="language"):
        rules.validate_language(code)


@pytest.mark.parametrize(
    "field, value",
    [
        ("default_censor_method", "beep"),
        ("default_min_severity", "extreme"),
        ("preferred_output_format", "ogg"),
        ("preferred_bitrate", "128k"),
        ("whisper_model_size", "large-v3"),
        ("whisper_model_size", "/models/whisper-custom"),
        ("theme", "dark"),
        ("use_gpu", False),
        ("default_word_list_id", 3),
    ],
)
def test_valid_settings(field, value):
    assert rules.validate_setting(field, value) == value


@pytest.mark.parametrize(
    "field, value",
    [
        ("default_censor_method", "mute"),
        ("default_min_severity", "critical"),
        ("preferred_output_format", "exe"),
        ("preferred_bitrate", "999k"),
        ("preferred_bitrate", "192"),
        ("whisper_model_size", "huge"),
        ("theme", "neon"),
        ("use_gpu", "yes"),
        ("default_word_list_id", 0),
        ("unknown_key", 1),
    ],
)
def test_invalid_settings_name_the_field(field, value):
    with pytest.raises(InvalidArgument, match=field):
        rules.validate_setting(field, value)


def test_defaults_cover_every_group_key_once():
    keys = [k for group in rules.SETTING_GROUPS.values() for k in group]
    assert sorted(keys) == sorted(rules.SETTING_DEFAULTS)


def test_job_transitions():
    rules.check_job_transition("j", "queued", "processing")
    rules.check_job_transition("j", "processing", "processing")  # a redelivered job
    rules.check_job_transition("j", "processing", "completed")
    rules.check_job_transition("j", "queued", "failed")
    for terminal in ("completed", "failed"):
        with pytest.raises(FailedPrecondition, match="already"):
            rules.check_job_transition("j", terminal, "completed")
    with pytest.raises(FailedPrecondition):
        rules.check_job_transition("j", "processing", "queued")
    with pytest.raises(InvalidArgument, match="status"):
        rules.check_job_transition("j", "queued", "exploded")


def test_statistics_from_aggregates():
    stats = rules.compute_statistics(
        {
            "total": 1000,
            "completed": 950,
            "failed": 50,
            "audio_seconds": 500.5 * 3600,
            "words_detected": 15000,
            "words_censored": 12000,
            "avg_processing": 45.3,
        }
    )
    assert stats.success_rate == 95.0
    assert stats.total_audio_duration_hours == 500.5
    assert stats.average_processing_time_seconds == 45.3
    empty = rules.compute_statistics(
        dict.fromkeys(
            (
                "total",
                "completed",
                "failed",
                "audio_seconds",
                "words_detected",
                "words_censored",
                "avg_processing",
            )
        )
    )
    assert empty.total_jobs == 0 and empty.success_rate == 0.0
