"""Spans of audio to censor, shared by the censor worker and the gateway's re-render."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from services.common.errors import InvalidArgument

__all__ = ["Span", "merge_spans"]


@dataclass(frozen=True)
class Span:
    """A stretch of audio to censor, in seconds from the start of the decoded track."""

    start: float
    end: float


def merge_spans(
    spans: Iterable[Span], *, gap: float = 0.05, duration: float | None = None
) -> list[Span]:
    """Sorts spans, clips them to the track and merges those that overlap or nearly touch.

    Args:
        spans: the spans to censor, in any order.
        gap: spans closer than this many seconds become one, so a beep does not stutter.
        duration: the track length in seconds; spans are clipped to [0, duration].

    Returns:
        Non-empty, non-overlapping spans sorted by start, at least `gap` apart.

    Raises:
        InvalidArgument: for a span with a NaN bound or a negative gap.
    """
    if gap < 0 or math.isnan(gap):
        raise InvalidArgument(f"gap must be zero or positive, not {gap}")
    clipped: list[Span] = []
    for span in spans:
        if math.isnan(span.start) or math.isnan(span.end):
            raise InvalidArgument(f"span bounds must be numbers, not {span}")
        start = max(0.0, float(span.start))
        end = float(span.end) if duration is None else min(float(span.end), duration)
        if end > start:
            clipped.append(Span(start, end))
    clipped.sort(key=lambda s: (s.start, s.end))
    merged: list[Span] = []
    for span in clipped:
        if merged and span.start <= merged[-1].end + gap:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged
