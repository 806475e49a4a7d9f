"""Measures what a censor did to a track, frame by frame, against exact ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["FRAME_SECONDS", "Comparison", "compare"]

FRAME_SECONDS = 0.02
# Frames quieter than this (dB below full scale) hold no speech to judge.
_SPEECH_FLOOR_DB = -45.0


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


@dataclass(frozen=True)
class Comparison:
    """Per-frame verdicts for the explicit spans and for the clean speech around them."""

    replaced: list[float]  # per explicit span: the share of its speech frames replaced
    kept: float  # the share of clean speech frames (beyond the margin) left unchanged
    kept_frames: int


def _replaced(src: np.ndarray, out: np.ndarray) -> bool:
    """A frame is replaced when the output no longer carries the source's waveform."""
    if _db(out) < _db(src) - 20.0:
        return True  # silenced
    a, b = src.reshape(-1), out.reshape(-1)
    corr = float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else 0.0
    return corr < 0.5


def _unchanged(src: np.ndarray, out: np.ndarray) -> bool:
    """A frame is unchanged when the waveform and its level survive (codec noise allowed)."""
    a, b = src.reshape(-1), out.reshape(-1)
    if np.std(a) == 0 or np.std(b) == 0:
        return False
    corr = float(np.corrcoef(a, b)[0, 1])
    return corr > 0.8 and abs(_db(out) - _db(src)) < 3.0


def compare(
    source: np.ndarray,
    output: np.ndarray,
    rate: int,
    explicit: Sequence[tuple[float, float]],
    *,
    margin: float = 0.15,
) -> Comparison:
    """Compares decoded source and output, both (frames, channels) at ``rate``.

    Args:
        explicit: exact spans of the explicit words, seconds.
        margin: clean speech this close to an explicit span is not judged.
    """
    assert source.shape == output.shape, (source.shape, output.shape)
    hop = round(FRAME_SECONDS * rate)
    replaced = []
    for start, end in explicit:
        verdicts = []
        for i in range(round(start * rate), round(end * rate) - hop + 1, hop):
            src, out = source[i : i + hop], output[i : i + hop]
            if _db(src) > _SPEECH_FLOOR_DB:
                verdicts.append(_replaced(src, out))
        replaced.append(float(np.mean(verdicts)) if verdicts else 1.0)
    kept = []
    for i in range(0, source.shape[0] - hop + 1, hop):
        t0, t1 = i / rate, (i + hop) / rate
        if any(t1 > s - margin and t0 < e + margin for s, e in explicit):
            continue
        src, out = source[i : i + hop], output[i : i + hop]
        if _db(src) > _SPEECH_FLOOR_DB:
            kept.append(_unchanged(src, out))
    return Comparison(replaced, float(np.mean(kept)) if kept else 1.0, len(kept))
