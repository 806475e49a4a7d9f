"""Censored spans refined on the audio: each edge moved to where its word's speech really is."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.censor.dsp import Span
from services.censor.matching import Match, Token
from services.common.errors import InvalidArgument

__all__ = [
    "EDGES",
    "END_BIAS",
    "LAST_LATER",
    "MAX_EARLIER",
    "MAX_LATER",
    "PAUSE_REACH",
    "PAUSE_SHARE_END",
    "PAUSE_SHARE_START",
    "START_BIAS",
    "RefinedSpan",
    "refine_spans",
]

START_BIAS = 0.069
"""How early Whisper base's word starts come, median seconds (piper speech, exact truth)."""

END_BIAS = 0.107
"""How early Whisper base's word ends come, median seconds."""

MAX_EARLIER = 0.15
"""The furthest a refined start may lie before Whisper's start, seconds."""

MAX_LATER = 0.25
"""The furthest a refined end may lie after Whisper's end, seconds."""

LAST_LATER = 0.5
"""The furthest the transcript's last word may end after Whisper's end, seconds, where
Whisper gave its last token no length: it squeezes the word the audio ends in so (on the
accuracy set "son of a b -", two tokens of no length at 14.56 s, for a "bitch" that ran on
to 14.95 s), and no word after it can be damaged."""

PAUSE_SHARE_START = 0.5
"""How far a start found at a pause moves back into it, as a share of the pause."""

PAUSE_SHARE_END = 0.8
"""How far an end found at a pause moves on into it, as a share of the pause. Larger than at
the start: a word's offset fades slowly and sinks under a background, its onset is sharp."""

PAUSE_REACH = 0.1
"""The furthest an edge moves into a pause, seconds (the whole of it with no speech beyond)."""

EDGES: tuple[str, ...] = ("quiet", "valley", "boundary", "margin", "file", "unseen")
"""What set an edge: a pause in the audio ("quiet"); the quietest point between this word and
a clean neighbour it runs into ("valley"); the estimated boundary with that neighbour where
the audio shows neither ("boundary"); the maximum margin; the start or end of the audio; or
nothing, as no speech could be told from the background in Whisper's span ("unseen")."""

# Analysis: 20 ms Hann frames every 5 ms, in log-spaced bands over the speech range, each
# band's power averaged over three frames so that a steady noise's own flicker stays below
# _ACTIVE_DB. A run of speech reaches _REACH past its outer frames' centres, as their
# windows do: edges err by up to ~20 ms on the side of the word.
_HOP = 0.005
_WINDOW = 0.02
_SPREAD = 3
_REACH = 0.01
_BANDS = 12
_LOW_HZ = 100.0
_HIGH_HZ = 7600.0
# The background is the quiet end of each band over the audio around the word, never below
# an absolute floor, so that digital silence does not turn a faint hiss into speech.
_CONTEXT = 1.5
_FLOOR_PERCENTILE = 10.0
_ABSOLUTE_FLOOR_DB = -80.0
# A frame holds speech when its bands stand this far above the background on average (each
# band's excess capped, so that one loud tone cannot carry a frame) and it is within
# _AUDIBLE_DB of the loud speech around it: what lies further below is masked by that speech.
_ACTIVE_DB = 4.0
_BAND_CAP_DB = 30.0
# A fricative ("-ss", "sh-") under a broadband noise stands out in the top bands alone, too
# little for the average: a frame holds speech also when those bands stand this far above
# their background (on the accuracy benchmark's dev set: one more word caught, no more
# clean speech damaged).
_HISS_BANDS = 2
_HISS_DB = 8.0
_AUDIBLE_DB = 35.0
_LOUD_PERCENTILE = 95.0
# Holes and blips shorter than this are smoothed away before edges are looked for.
_SMOOTH = 0.015
# Dips inside a word (a stop's closure, "bas-tard") are shorter than this; a pause is longer.
_MAX_BRIDGE = 0.12
# A pause between words: at least this long between two runs of speech (about 50 ms of
# silence, as each run reaches into it). One that Whisper gave to the word after it lies
# within _ABSORB of the word's Whisper start (unless longer than _MAX_BRIDGE) and leaves a
# syllable of the word in its span; speech longer than a syllable is a word, not a release.
_MIN_PAUSE = 0.03
_ABSORB = 0.25
_SYLLABLE = 0.08
_EPSILON = 1e-6  # run edges are sums of float times
# A valley between two words lies this far below the speech on both sides of it.
_VALLEY_DB = 15.0
# Next to a clean word: how far before Whisper's start the start may reach for a quiet point,
# and where it goes when there is none: _LEAD before Whisper's start (negative: after it).
# In running speech Whisper's starts come up to 70 ms late as often as early; on the
# accuracy benchmark's dev set 20 ms after it spared more clean speech than 20 ms before
# (2.4% of clean frames damaged against 2.9%) for the same recall.
_GROW = 0.05
_LEAD = -0.02
# With no speech seen in Whisper's span, the start stays this far before Whisper's.
_UNSEEN_LEAD = 0.02
# Next to a clean word: how far past the estimated boundary the end may reach for a quiet point
# (80 ms left the last 8 ms of "pissed" before "off" out of reach on the accuracy set).
_SNAP = 0.1


@dataclass(frozen=True)
class RefinedSpan:
    """One matched run of words with Whisper's times and the times found in the audio.

    ``start_edge`` and ``end_edge`` say what set each refined edge (see ``EDGES``).
    """

    match: Match
    whisper_start: float
    whisper_end: float
    start: float
    end: float
    start_edge: str
    end_edge: str

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


def refine_spans(
    audio: np.ndarray,
    words: Sequence[Token],
    matches: Sequence[Match],
    *,
    sample_rate: int = 16_000,
    max_earlier: float = MAX_EARLIER,
    max_later: float = MAX_LATER,
    start_bias: float = START_BIAS,
    end_bias: float = END_BIAS,
    pause_share_start: float = PAUSE_SHARE_START,
    pause_share_end: float = PAUSE_SHARE_END,
    pause_reach: float = PAUSE_REACH,
) -> list[RefinedSpan]:
    """Finds each matched word's real onset and offset near Whisper's estimate.

    Speech is told from the background frame by frame (5 ms): a frame holds speech when its
    spectrum stands above a per-band noise floor taken from the audio around the word (so a
    steady noise does not read as speech; a music bed partly does, and there the bounds
    below hold the edges) and it is audible next to the loud speech nearby. Whisper's word
    ends come early, it gives a pause to the word after it, and its starts in running
    speech are as often late as early. So:

    - The end follows the word's speech forward. With no clean word after it (the end of
      the audio, another matched word) it walks across dips shorter than 120 ms (a stop's
      closure) to the first longer one. Next to a clean word the boundary between them is
      estimated from their Whisper times corrected by the median biases: the midpoint of
      the gap between them, never before this word's own corrected end. Speech that starts
      before that estimate is this word's, unless a pause (about 50 ms of silence) parts it
      from the word and it runs on past the estimate for longer than a syllable, and no
      longer pause parts it from the clean word's speech later in that word's Whisper span
      (then it is this word's last syllable, "motherfuck-er", a pause, "took", which Whisper
      gave to the clean word). Where the word's speech runs on across the estimate, the end
      goes to the nearest pause or energy valley at most 100 ms past it, else stays at the
      estimate.
    - The start moves later only across silence: when Whisper's start lies in the silence
      before the word, or Whisper gave the word the pause before it (the clean word's
      speech runs on into this word's span, then a pause within 250 ms of Whisper's start,
      or a longer one than 120 ms anywhere, then at least 80 ms of the span). Otherwise it
      moves out: next to a clean word to a pause or valley at most 50 ms before Whisper's
      start, else to 20 ms after it, or back to where the clean word's speech ends (its
      Whisper end, corrected) when that is sooner, at most 50 ms before Whisper's start;
      with no clean word before it, back across short dips like the end.

    - An edge found at a pause then moves into it: the start back by half of the pause
      before the word, the end on by 80% of the pause after it, at most 100 ms either way
      (the whole 100 ms where no speech follows, or none comes before). A word's faint
      parts sink under a background before its speech ends, and a pause holds no other
      word's loud speech;
      measured on the accuracy benchmark's dev set, this took strict recall in noise from
      0.18 to 0.59 and damaged almost no more clean speech.

    Every edge stays within ``max_earlier`` before Whisper's start and ``max_later`` after
    Whisper's end (0.5 s, if that is more, for the transcript's last word when Whisper gave
    its last token no length), and within the audio; next to a clean word a start stays
    within 50 ms of Whisper's start and an end within 100 ms of the estimated boundary (or at
    the pause after its last syllable, above). Edges
    err by up to 20 ms on the side of the word (the analysis window). Adjacent matched words
    each grow over the speech between them, so their spans meet.

    Args:
        audio: mono samples (the pipeline's 16 kHz transcription audio).
        words: the transcribed words the matches index.
        matches: what to censor, in order, as ``Matcher.match`` returns them.
        sample_rate: the audio's rate in Hz.
        max_earlier: seconds a start may move before Whisper's start.
        max_later: seconds an end may move after Whisper's end.
        start_bias: median seconds by which Whisper's starts come early.
        end_bias: median seconds by which Whisper's ends come early.
        pause_share_start: share of the pause before a word that a start found at its
            edge moves back into.
        pause_share_end: share of the pause after a word that an end found at its edge
            moves on into.
        pause_reach: the furthest, in seconds, that an edge moves into a pause.

    Returns:
        One refined span per match, in the order of ``matches``.

    Raises:
        InvalidArgument: for audio that is not one-dimensional, a bad rate or a negative
            margin.
    """
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise InvalidArgument(f"audio must be mono (one dimension), not shape {samples.shape}")
    if sample_rate <= 0:
        raise InvalidArgument(f"sample rate must be positive, not {sample_rate}")
    for name, value in (
        ("max_earlier", max_earlier),
        ("max_later", max_later),
        ("pause_share_start", pause_share_start),
        ("pause_share_end", pause_share_end),
        ("pause_reach", pause_reach),
    ):
        if not value >= 0:
            raise InvalidArgument(f"{name} must be zero or positive, not {value}")
    pause = _Pause(pause_share_start, pause_share_end, pause_reach)
    duration = samples.shape[0] / sample_rate
    matched = {i for m in matches for i in range(m.first, m.last + 1)}
    refined: list[RefinedSpan] = []
    for match in matches:
        before, after = match.first - 1, match.last + 1
        # Where the clean word before this one ends, by Whisper.
        previous = words[before].end if 0 <= before < len(words) and before not in matched else None
        boundary = clean_end = None
        if 0 <= after < len(words) and after not in matched:
            clean_end = words[after].end
            midpoint = 0.5 * ((match.end + end_bias) + (words[after].start + start_bias))
            boundary = max(midpoint, match.end + end_bias)
        lo = max(0.0, match.start - max_earlier)
        squeezed = after >= len(words) and words[match.last].end - words[match.last].start < _HOP
        later = max(max_later, LAST_LATER) if squeezed else max_later
        hi = min(duration, match.end + later)
        envelope = _Envelope.of(samples, sample_rate, lo - _GROW, hi + _SNAP)
        start, start_edge, end, end_edge = _refine(
            envelope, match, previous, boundary, clean_end, end_bias, pause
        )
        if start <= lo:
            start, start_edge = lo, "file" if lo <= 0.0 else "margin"
        if end >= hi:
            end, end_edge = hi, "file" if hi >= duration else "margin"
        if end <= start:  # nothing of the word left between its limits: keep Whisper's span
            start, end = min(max(lo, match.start), hi), max(min(hi, match.end), lo)
            start_edge = end_edge = "unseen"
        end = max(start, end)
        refined.append(RefinedSpan(match, match.start, match.end, start, end, start_edge, end_edge))
    return refined


def _refine(
    envelope: _Envelope,
    match: Match,
    previous: float | None,
    boundary: float | None,
    clean_end: float | None,
    end_bias: float,
    pause: _Pause,
) -> tuple[float, str, float, str]:
    """The refined start and end of one match, and what set each."""
    runs = envelope.runs()
    ws, we = match.start, max(match.end, match.start + _HOP)
    inside = [k for k, (onset, offset) in enumerate(runs) if offset > ws and onset < we]
    if not inside:
        end = match.end + end_bias if boundary is None else boundary
        return ws - _UNSEEN_LEAD, "unseen", end, "unseen"
    start, start_edge = _start(envelope, runs, inside[0], ws, we, previous, end_bias, pause)
    end, end_edge = _end(envelope, runs, inside[-1], boundary, clean_end, pause)
    return start, start_edge, end, end_edge


def _start(
    envelope: _Envelope,
    runs: list[tuple[float, float]],
    k: int,
    ws: float,
    we: float,
    previous: float | None,
    end_bias: float,
    pause: _Pause,
) -> tuple[float, str]:
    onset = runs[k][0]
    if onset >= ws - _REACH:
        return pause.into(runs, k, -1), "quiet"  # Whisper's start lies in the silence before
    if previous is None:
        return pause.into(runs, _walk(runs, k, -1), -1), "quiet"
    # The pause before the word, given to it by Whisper: the clean word's speech runs on
    # past its Whisper end into this word's span, then the pause, then at least a syllable
    # of this word (so that a dip inside the word is not taken for the pause). A short
    # pause must lie near Whisper's start; one longer than any dip in a word may lie later.
    if onset < previous:
        for j in range(k + 1, len(runs)):
            onset, gap = runs[j][0], runs[j][0] - runs[j - 1][1]
            if onset > we - _SYLLABLE:
                break
            if gap > _MAX_BRIDGE or (gap >= _MIN_PAUSE - _EPSILON and onset <= ws + _ABSORB):
                return pause.into(runs, j, -1), "quiet"
    # Speech runs across Whisper's start: out to the nearest quiet point within reach, and
    # from the start of a run back into the pause before it.
    points: list[tuple[float, str, int | None]] = [
        (onset, "quiet", j) for j, (onset, _) in enumerate(runs) if ws - _GROW <= onset <= ws
    ]
    points += [(t, "valley", None) for t in envelope.valleys(ws - _GROW, ws)]
    if points:
        t, edge, run = max(points, key=lambda p: p[0])
        return (t if run is None else pause.into(runs, run, -1)), edge
    # Else 20 ms after Whisper's start, unless the clean word's speech (by its Whisper end,
    # corrected) ends before that: then back to it, as far as a quiet point may lie.
    free = previous + end_bias
    if free < ws - _LEAD:
        return max(free, ws - _GROW), "boundary"
    return ws - _LEAD, "boundary"


def _end(
    envelope: _Envelope,
    runs: list[tuple[float, float]],
    k: int,
    boundary: float | None,
    clean_end: float | None,
    pause: _Pause,
) -> tuple[float, str]:
    if boundary is None or clean_end is None:
        return pause.into(runs, _walk(runs, k, +1), +1), "quiet"
    # Speech that starts before the estimated boundary is this word's, across dips shorter
    # than 120 ms, unless a pause parts it from the word and it runs on past the boundary
    # for longer than a stop's release: then it is the clean word's. But where a longer
    # pause follows that speech and the clean word's own speech comes after it, the speech
    # is this word's last syllable, given by Whisper to the clean word.
    while k + 1 < len(runs) and runs[k + 1][0] < boundary:
        onset, offset = runs[k + 1]
        dip = onset - runs[k][1]
        if dip > _MAX_BRIDGE:
            break
        if dip >= _MIN_PAUSE - _EPSILON and offset > boundary and offset - boundary > _SYLLABLE:
            if k + 2 < len(runs) and dip < runs[k + 2][0] - offset and runs[k + 2][0] < clean_end:
                return pause.into(runs, k + 1, +1), "quiet"
            break
        k += 1
    if runs[k][1] <= boundary:
        return pause.into(runs, k, +1), "quiet"
    # Speech runs on across the estimate: out to the nearest quiet point within reach, and
    # from the end of a run on into the pause after it.
    points = [
        (t, "quiet", j if t == run[1] else None)
        for j, run in enumerate(runs)
        for t in run
        if boundary <= t <= boundary + _SNAP
    ]
    points += [(t, "valley", None) for t in envelope.valleys(boundary, boundary + _SNAP)]
    if points:
        t, edge, j = min(points, key=lambda p: p[0])
        return (t if j is None else pause.into(runs, j, +1)), edge
    return boundary, "boundary"


def _walk(runs: list[tuple[float, float]], k: int, step: int) -> int:
    """The outermost run that run ``k`` reaches across dips shorter than a pause."""
    while 0 <= k + step < len(runs):
        first, second = (runs[k], runs[k + step]) if step > 0 else (runs[k + step], runs[k])
        if second[0] - first[1] > _MAX_BRIDGE:
            break
        k += step
    return k


@dataclass(frozen=True)
class _Pause:
    """How far an edge found at a pause moves into it (see PAUSE_SHARE_START and the rest)."""

    share_start: float
    share_end: float
    reach: float

    def into(self, runs: list[tuple[float, float]], k: int, step: int) -> float:
        """The outer edge of run ``k`` moved into the pause after it (``step`` -1: before).

        A word's faint edges (a fading vowel, a soft fricative) sink under a background
        before its speech ends, and a pause holds no word's loud speech, so the edge goes a
        share of the pause further, at most ``reach``; with no speech beyond, all of it.
        """
        if step > 0:
            edge, share = runs[k][1], self.share_end
            gap = runs[k + 1][0] - edge if k + 1 < len(runs) else math.inf
        else:
            edge, share = runs[k][0], self.share_start
            gap = edge - runs[k - 1][1] if k > 0 else math.inf
        if math.isinf(gap) and self.reach > 0:
            return step * math.inf  # no speech beyond: out to the margin
        return edge + step * min(self.reach, share * max(0.0, gap))


@dataclass(frozen=True)
class _Envelope:
    """Frame centres (5 ms apart), levels in dBFS and whether each frame holds speech."""

    times: np.ndarray
    level: np.ndarray
    active: np.ndarray

    @classmethod
    def of(cls, samples: np.ndarray, sample_rate: int, start: float, end: float) -> _Envelope:
        """The frames from ``start`` to ``end``, judged against _CONTEXT of audio around them."""
        duration = samples.shape[0] / sample_rate
        origin = max(0.0, start - _CONTEXT)
        level, bands = _analyse(
            samples, sample_rate, origin, max(origin, min(duration, end + _CONTEXT))
        )
        floor = np.maximum(np.percentile(bands, _FLOOR_PERCENTILE, axis=0), _ABSOLUTE_FLOOR_DB)
        excess = np.clip(bands - floor, 0.0, _BAND_CAP_DB).mean(axis=1)
        loud = float(np.percentile(level, _LOUD_PERCENTILE))
        hiss = (bands[:, -_HISS_BANDS:] - floor[-_HISS_BANDS:]).mean(axis=1) >= _HISS_DB
        active = _smooth(((excess >= _ACTIVE_DB) | hiss) & (level >= loud - _AUDIBLE_DB))
        return cls(origin + _HOP * np.arange(level.shape[0]), level, active)

    def runs(self) -> list[tuple[float, float]]:
        """The stretches of speech as (onset, offset) seconds, each frame's window included."""
        edges = np.flatnonzero(np.diff(np.concatenate([[0], self.active.astype(np.int8), [0]])))
        return [
            (float(self.times[a]) - _REACH, float(self.times[b - 1]) + _REACH)
            for a, b in zip(edges[::2], edges[1::2], strict=True)
        ]

    def valleys(self, lo: float, hi: float) -> list[float]:
        """Times in [lo, hi] where the level dips _VALLEY_DB below the speech on both sides."""
        reach = int(round(_MAX_BRIDGE / _HOP))
        found = []
        for i in np.flatnonzero((self.times >= lo) & (self.times <= hi)):
            before = self.level[max(0, i - reach) : i]
            after = self.level[i + 1 : i + 1 + reach]
            if before.size == 0 or after.size == 0:
                continue
            here = self.level[i]
            if here >= before.min() or here > after.min():
                continue  # not the first lowest point around
            if min(before.max(), after.max()) - here >= _VALLEY_DB:
                found.append(float(self.times[i]))
        return found


def _analyse(
    samples: np.ndarray, sample_rate: int, start: float, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per 5 ms frame from ``start`` to ``end``: the level and the band levels in dBFS."""
    hop = max(1, int(round(_HOP * sample_rate)))
    window = max(2, int(round(_WINDOW * sample_rate)))
    count = max(1, int(math.floor((end - start) / _HOP)) + 1)
    first = int(round(start * sample_rate)) - window // 2
    padded = np.zeros((count - 1) * hop + window, dtype=np.float64)
    lo, hi = max(0, first), min(samples.shape[0], first + padded.shape[0])
    if hi > lo:
        padded[lo - first : hi - first] = samples[lo:hi]
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:count]
    taper = np.hanning(window)
    # One-sided power scaled so that a frame's bins add up to its (tapered) mean square.
    power = np.abs(np.fft.rfft(frames * taper, axis=1)) ** 2
    power /= float(np.sum(taper**2)) * window
    power[:, 1 : (window + 1) // 2] *= 2.0
    freqs = np.fft.rfftfreq(window, 1.0 / sample_rate)
    edges = np.geomspace(_LOW_HZ, min(_HIGH_HZ, 0.5 * sample_rate), _BANDS + 1)
    bands = np.stack(
        [
            power[:, (freqs >= f0) & (freqs < f1)].sum(axis=1)
            for f0, f1 in itertools.pairwise(edges)
        ],
        axis=1,
    )
    kernel = np.ones(_SPREAD) / _SPREAD
    bands = np.apply_along_axis(np.convolve, 0, bands, kernel, mode="same")
    level = 10.0 * np.log10(power.sum(axis=1) + 1e-12)
    return level, 10.0 * np.log10(bands + 1e-12)


def _smooth(active: np.ndarray) -> np.ndarray:
    """Fills holes and drops blips shorter than _SMOOTH."""
    shortest = int(round(_SMOOTH / _HOP))
    out = active.copy()
    for value in (False, True):
        mask = np.concatenate([[0], (out == value).astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(mask))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            if b - a < shortest and a > 0 and b < out.shape[0]:
                out[a:b] = not value
    return out
