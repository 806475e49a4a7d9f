"""Spans: sorted, clipped to the track, and merged where they overlap or nearly touch."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.common.spans import Span, merge_spans


def test_merge_sorts_and_merges_overlapping_and_close_spans():
    spans = [Span(2.0, 2.5), Span(0.5, 1.0), Span(0.9, 1.2), Span(1.22, 1.3), Span(3.0, 3.1)]
    assert merge_spans(spans, gap=0.05) == [Span(0.5, 1.3), Span(2.0, 2.5), Span(3.0, 3.1)]


def test_merge_keeps_spans_further_apart_than_the_gap():
    assert merge_spans([Span(0.0, 1.0), Span(1.2, 1.5)], gap=0.1) == [
        Span(0.0, 1.0),
        Span(1.2, 1.5),
    ]


def test_merge_with_zero_gap_joins_touching_spans():
    assert merge_spans([Span(0.0, 1.0), Span(1.0, 2.0)], gap=0.0) == [Span(0.0, 2.0)]


def test_merge_clips_to_the_track_and_drops_empty_spans():
    spans = [Span(-0.5, 0.2), Span(2.8, 3.5), Span(4.0, 5.0), Span(1.0, 1.0), Span(2.0, 1.5)]
    assert merge_spans(spans, duration=3.0) == [Span(0.0, 0.2), Span(2.8, 3.0)]


def test_merge_of_nothing_is_nothing():
    assert merge_spans([]) == []


def test_merge_rejects_nan():
    with pytest.raises(InvalidArgument):
        merge_spans([Span(float("nan"), 1.0)])
