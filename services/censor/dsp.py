"""Censoring DSP: merge word spans and replace them with silence, a beep or white noise."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from services.common.errors import InvalidArgument
from services.common.spans import Span, merge_spans
from services.common.wordlists import CENSOR_METHODS

__all__ = [
    "BEEP_FREQUENCY",
    "CONTEXT_SECONDS",
    "MAX_PEAK_DBFS",
    "MIN_LEVEL_DBFS",
    "Span",
    "db_to_amplitude",
    "local_level_db",
    "merge_spans",
    "render",
    "rms_db",
]

logger = logging.getLogger(__name__)

BEEP_FREQUENCY = 1000.0
"""The beep's pitch in Hz."""

CONTEXT_SECONDS = 1.0
"""How much audio on each side of a span sets the beep and noise level."""

MIN_LEVEL_DBFS = -40.0
"""The quietest beep or noise (RMS), so a beep in a quiet passage is still heard."""

MAX_PEAK_DBFS = -6.0
"""The loudest peak a beep or the noise may reach."""

_SILENCE_DB = -200.0


def rms_db(samples: np.ndarray) -> float:
    """Returns the RMS level of samples (any shape, full scale 1.0) in dBFS.

    Args:
        samples: audio samples; every channel counts.

    Returns:
        20·log10(RMS), or -200.0 for empty or all-zero input.
    """
    if samples.size == 0:
        return _SILENCE_DB
    mean_square = float(np.mean(np.square(samples, dtype=np.float64)))
    if mean_square <= 0.0:
        return _SILENCE_DB
    return 10.0 * math.log10(mean_square)


def db_to_amplitude(db: float) -> float:
    """Returns the linear amplitude of a level in dBFS (0 dBFS is 1.0)."""
    return float(10.0 ** (db / 20.0))


def local_level_db(
    samples: np.ndarray,
    sample_rate: int,
    span: Span,
    *,
    context: float = CONTEXT_SECONDS,
    ramp: float = 0.005,
) -> float:
    """Returns the RMS level in dBFS of the audio around a span, the span itself excluded.

    The span is left out on purpose: the level a listener is used to is set by the
    audio around the word, and a shouted word should not give a louder beep. When
    the span has no surroundings (it covers the whole track) its own level is used.

    Args:
        samples: (frames, channels) audio.
        sample_rate: frames per second.
        span: the span to censor.
        context: seconds of audio on each side that count.
        ramp: seconds of fade around the span, left out of the measurement too.

    Returns:
        The level in dBFS, -200.0 for digital silence.
    """
    n = samples.shape[0]
    start, stop = _span_indices(span, sample_rate, n)
    fade = _ramp_frames(ramp, sample_rate)
    width = int(round(context * sample_rate))
    before = samples[max(0, start - fade - width) : max(0, start - fade)]
    after = samples[min(n, stop + fade) : min(n, stop + fade + width)]
    around = np.concatenate([before, after]) if before.size or after.size else samples[start:stop]
    return rms_db(around)


def render(
    samples: np.ndarray,
    sample_rate: int,
    spans: Sequence[Span],
    method: str,
    *,
    ramp: float = 0.005,
    seed: int = 0,
) -> np.ndarray:
    """Returns a copy of the audio with every span replaced by silence, a beep or white noise.

    Each span is replaced in full; raised-cosine crossfades `ramp` seconds long sit
    just outside it (ending at `start`, starting at `end`) so there is no click.
    Samples further than `ramp` from every span are left bit-identical. The beep
    (1 kHz sine) and the noise (uniform white noise) take the RMS level of the
    second of audio on each side of the span (see `local_level_db`), kept between
    MIN_LEVEL_DBFS RMS and a peak of MAX_PEAK_DBFS. Every channel gets the same
    replacement. Spans closer than two ramps are treated as one.

    Args:
        samples: (frames, channels) float32 audio in [-1, 1].
        sample_rate: frames per second.
        spans: what to censor, in seconds; clipped to the audio.
        method: "silence", "beep" or "white_noise".
        ramp: crossfade length in seconds on each side of a span.
        seed: seeds the noise, so a render can be repeated exactly.

    Returns:
        A new array with the shape and dtype of `samples`.

    Raises:
        InvalidArgument: for an unknown method, a bad shape, rate or ramp.
    """
    if method not in CENSOR_METHODS:
        raise InvalidArgument(
            f"unknown censor method {method!r}; expected one of {', '.join(CENSOR_METHODS)}"
        )
    if samples.ndim != 2:
        raise InvalidArgument(f"samples must be (frames, channels), not shape {samples.shape}")
    if sample_rate <= 0:
        raise InvalidArgument(f"sample rate must be positive, not {sample_rate}")
    if ramp < 0 or math.isnan(ramp):
        raise InvalidArgument(f"ramp must be zero or positive, not {ramp}")
    out = samples.copy()
    n = samples.shape[0]
    fade = _ramp_frames(ramp, sample_rate)
    rng = np.random.default_rng(seed)
    duration = n / sample_rate
    # Regions whose fades would overlap become one region, so each sample is
    # crossfaded once and a beep keeps one continuous phase.
    for span in merge_spans(spans, gap=2 * fade / sample_rate, duration=duration):
        start, stop = _span_indices(span, sample_rate, n)
        if stop <= start:
            continue
        lo, hi = max(0, start - fade), min(n, stop + fade)
        weight = _envelope(start, stop, fade, lo, hi)
        replacement = _replacement(samples, sample_rate, span, method, lo, hi, ramp, rng)
        region = samples[lo:hi].astype(np.float64)
        mixed = region * (1.0 - weight)[:, None] + (replacement * weight)[:, None]
        out[lo:hi] = mixed.astype(samples.dtype)
        logger.debug("censored %.3f-%.3f s with %s", span.start, span.end, method)
    return out


def _ramp_frames(ramp: float, sample_rate: int) -> int:
    return int(round(ramp * sample_rate))


def _span_indices(span: Span, sample_rate: int, n: int) -> tuple[int, int]:
    """The frames [start, stop) that a span covers: every frame that overlaps it."""
    start = min(n, max(0, int(math.floor(span.start * sample_rate))))
    stop = min(n, max(0, int(math.ceil(span.end * sample_rate))))
    return start, stop


def _envelope(start: int, stop: int, fade: int, lo: int, hi: int) -> np.ndarray:
    """Weight of the replacement over frames [lo, hi): 0→1 before start, 1 inside, 1→0 after."""
    weight = np.ones(hi - lo, dtype=np.float64)
    if fade > 0:
        # Raised cosine strictly between 0 and 1, so the frames just outside the
        # fades are untouched and the span itself is fully replaced.
        k = np.arange(1, fade + 1, dtype=np.float64)
        rise = 0.5 - 0.5 * np.cos(np.pi * k / (fade + 1))
        head = start - lo
        weight[:head] = rise[fade - head :]
        tail = hi - stop
        weight[hi - lo - tail :] = rise[::-1][:tail]
    return weight


def _replacement(
    samples: np.ndarray,
    sample_rate: int,
    span: Span,
    method: str,
    lo: int,
    hi: int,
    ramp: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The mono signal that replaces frames [lo, hi)."""
    count = hi - lo
    if method == "silence":
        return np.zeros(count, dtype=np.float64)
    level = local_level_db(samples, sample_rate, span, ramp=ramp)
    if method == "beep":
        # A sine's peak is √2 times its RMS.
        ceiling = MAX_PEAK_DBFS - 20.0 * math.log10(math.sqrt(2.0))
        rms = db_to_amplitude(min(max(level, MIN_LEVEL_DBFS), ceiling))
        t = np.arange(count, dtype=np.float64) / sample_rate
        return math.sqrt(2.0) * rms * np.sin(2.0 * np.pi * BEEP_FREQUENCY * t)
    # Uniform noise on [-a, a] has RMS a/√3; its peak is bounded, unlike Gaussian noise.
    ceiling = MAX_PEAK_DBFS - 20.0 * math.log10(math.sqrt(3.0))
    rms = db_to_amplitude(min(max(level, MIN_LEVEL_DBFS), ceiling))
    return rng.uniform(-math.sqrt(3.0) * rms, math.sqrt(3.0) * rms, count)
