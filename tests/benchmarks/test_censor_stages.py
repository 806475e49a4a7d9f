"""The benchmark's pure parts: stage timing, real-time factors, and the script's ground truth."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.censor_stages import (
    SCRIPT,
    StageClock,
    load_seed_entries,
    markdown_report,
    real_time_factors,
    script_pieces,
)
from services.censor.matching import Matcher, Token


def test_each_stage_lasts_until_the_next_one_starts():
    ticks = iter([1.0, 1.5, 4.0, 4.25, 10.0])
    clock = StageClock(lambda: next(ticks))
    events = [
        ("decode", 0.0),
        ("decode", 100.0),  # later events of a stage do not read the clock
        ("transcription", 0.0),
        ("transcription", 50.0),
        ("matching", 0.0),
        ("encoding", 0.0),
    ]
    for stage, percent in events:
        asyncio.run(clock.progress(stage, percent, ""))
    clock.stop()
    assert clock.seconds() == {
        "decode": 0.5,
        "transcription": 2.5,
        "matching": 0.25,
        "encoding": 5.75,
    }


def test_real_time_factor_is_seconds_per_second_of_audio():
    assert real_time_factors({"transcription": 18.0, "encoding": 0.9}, 180.0) == {
        "transcription": 0.1,
        "encoding": pytest.approx(0.005),
    }


def test_sentences_repeat_whole_until_the_track_is_long_enough():
    script = [[("a", False), ("b", True)], [("c", False)]]
    pieces = script_pieces(script, 4.0, lambda text: 0.5, gap=0.5)
    assert pieces == [("a", False), ("b", True), ("c", False), ("a", False), ("b", True)]


def test_only_the_marked_pieces_hold_listed_words():
    matcher = Matcher(load_seed_entries(), "low")
    for sentence in SCRIPT:
        for text, explicit in sentence:
            tokens = [Token(word, i, i + 1) for i, word in enumerate(text.split())]
            assert bool(matcher.match(tokens)) == explicit, text


def test_the_markdown_table_has_a_row_per_stage_and_the_total():
    report = {
        "date": "2026-11-23T19:00:00+00:00",
        "machine": {"cpu_model": "AMD EPYC", "cpus_usable": 2},
        "run": {"device": "cpu", "compute_type": "int8", "model": "base", "method": "beep"},
        "audio": {"format": "mp3", "sample_rate": 22050, "channels": 1, "seconds": 180.0},
        "stages": [
            {"stage": "decode", "seconds": 0.5, "rtf": 0.00278, "cpu_seconds": 0.4},
            {"stage": "transcription", "seconds": 36.0, "rtf": 0.2, "cpu_seconds": 60.0},
        ],
        "total": {"seconds": 36.5, "rtf": 0.20278, "cpu_seconds": 60.4},
        "model_load_seconds": 0.7,
        "peak_rss_mb": 560.0,
        "load_average": {"start": [1.0, 1.0, 1.0], "end": [2.0, 1.5, 1.0]},
        "sanity": {"explicit_censored": 20, "explicit_pieces": 31, "clean_kept": 0.98},
    }
    table = markdown_report(report)
    assert "| decode | 0.50 | 0.0028 | 0.40 |" in table
    assert "| transcription | 36.00 | 0.2000 | 60.00 |" in table
    assert "| **pipeline total** | **36.50** | **0.2028** | 60.40 |" in table
    assert "Explicit pieces censored: 20/31" in table
