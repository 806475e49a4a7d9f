"""The noise-removal interface, and a block engine that runs any frame model in parallel."""

from __future__ import annotations

import itertools
import math
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, runtime_checkable

import av
import numpy as np

from services.common.errors import InvalidArgument

__all__ = [
    "MAX_AMOUNT",
    "MIN_AMOUNT",
    "BlockEngine",
    "DenoiseEngine",
    "FrameModel",
    "FrameState",
    "attenuation_limit_db",
    "check_amount",
]

MIN_AMOUNT = 1
MAX_AMOUNT = 100

# Input is cut into chunks this long (frames) on its way through the resamplers.
_CHUNK_FRAMES = 16_384
# Decoded audio is nominally within [-1, 1]; far outside it is garbage that
# would overflow the models' power spectra.
_MAX_ABS = 64.0


@runtime_checkable
class DenoiseEngine(Protocol):
    """Removes background noise from float32 audio at any rate.

    The output keeps the input's rate, channel count and exact length, and is
    time-aligned with it: a model's own delay is compensated.
    """

    def denoise(self, samples: np.ndarray, sample_rate: int, *, amount: int = 100) -> np.ndarray:
        """Returns the denoised copy of `samples`, shape (frames, channels)."""
        ...

    def denoise_stream(
        self, chunks: Iterable[np.ndarray], sample_rate: int, *, amount: int = 100
    ) -> Iterator[np.ndarray]:
        """Denoises a stream of (frames, channels) chunks; the chunks yielded add up to
        exactly as many frames as came in."""
        ...


class FrameState(Protocol):
    """One channel's running model state: a causal filter with a fixed delay."""

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Filters 1-D float32 samples (a whole number of hops); returns as many.

        The output lags the input by the model's `delay` samples.
        """
        ...

    def close(self) -> None:
        """Frees the state."""
        ...


class FrameModel(Protocol):
    """A frame-by-frame noise-removal model, the part an engine plugs into `BlockEngine`."""

    @property
    def sample_rate(self) -> int:
        """The only rate the model runs at."""
        ...

    @property
    def hop_size(self) -> int:
        """Samples per frame."""
        ...

    @property
    def delay(self) -> int:
        """How many samples the output lags the input."""
        ...

    def open(self, amount: int) -> FrameState:
        """A fresh state for one channel, reducing noise by `amount` (1..100)."""
        ...


def check_amount(amount: int) -> int:
    """Returns `amount` if it is a whole number in 1..100.

    Raises:
        InvalidArgument: for anything else.
    """
    if isinstance(amount, bool) or not isinstance(amount, int | np.integer):
        raise InvalidArgument(f"the noise reduction amount must be a whole number, not {amount!r}")
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise InvalidArgument(
            f"the noise reduction amount must be between {MIN_AMOUNT} and {MAX_AMOUNT}, "
            f"not {amount}"
        )
    return int(amount)


def attenuation_limit_db(amount: int) -> float:
    """Maps a noise reduction amount to the most the noise may be attenuated, in dB.

    The amount is the percentage by which the noise's perceived loudness drops.
    Loudness halves for every 10 dB of attenuation (Stevens' power law, as in the
    sone scale), so the limit is ``-10 * log2(1 - amount / 100)`` dB:

    ======  ======  =====  =====  =====  =====  =====  ======
    amount       1     10     25     50     75     90     100
    dB        0.15    1.5    4.2     10     20     33     inf
    ======  ======  =====  =====  =====  =====  =====  ======

    1 is almost no reduction, 50 makes the noise half as loud, 100 removes all
    the model can; every step of 5 or more is at least 0.7 dB, so audible.

    Args:
        amount: 1..100.

    Returns:
        The limit in dB, ``math.inf`` for 100 (no limit).

    Raises:
        InvalidArgument: for an amount outside 1..100.
    """
    amount = check_amount(amount)
    if amount == MAX_AMOUNT:
        return math.inf
    return -10.0 * math.log2(1.0 - amount / 100.0)


class BlockEngine:
    """Runs a `FrameModel` over audio of any rate, in overlapping blocks on worker threads.

    The audio is resampled to the model's rate as one stream, cut into blocks of
    `block_seconds`, and each block and channel runs on a fresh model state on a
    pool of threads (models that release the GIL, as a ctypes call does, use
    every core). Each block starts `warmup_seconds + crossfade_seconds` early, so
    its state has settled on the real audio before its output is used; the first
    part is dropped and the last `crossfade_seconds` overlap the previous block's
    end and are crossfaded with it. Only a few blocks are held at a time, so
    memory stays flat however long the input is.

    Fresh states make the output depend only on the input and the block length,
    not on the number of workers or their timing.
    """

    def __init__(
        self,
        model: FrameModel,
        *,
        workers: int | None = None,
        block_seconds: float = 30.0,
        warmup_seconds: float = 3.0,
        crossfade_seconds: float = 1.0,
    ) -> None:
        """Args:
        model: the frame model to run.
        workers: threads to run blocks on; None: one per available core.
        block_seconds: audio per block; shorter blocks spread a short file over
            more cores, at the cost of more warm-up.
        warmup_seconds: audio each block's state runs on before its output counts.
        crossfade_seconds: the overlap crossfaded at each join.

        Raises:
            InvalidArgument: for block, warm-up or crossfade lengths that do not fit.
        """
        if workers is None:
            if hasattr(os, "sched_getaffinity"):
                workers = len(os.sched_getaffinity(0))
            else:
                workers = os.cpu_count() or 1
        if workers < 1:
            raise InvalidArgument(f"workers must be at least 1, not {workers}")
        hop = model.hop_size
        rate = model.sample_rate
        self._model = model
        self._workers = workers
        self._crossfade = _whole_hops(crossfade_seconds, rate, hop)
        self._warmup = _whole_hops(warmup_seconds, rate, hop)
        self._block = _whole_hops(block_seconds, rate, hop)
        if self._crossfade < hop:
            raise InvalidArgument(f"the crossfade must be at least {hop / rate * 1000:g} ms")
        if self._block <= self._crossfade:
            raise InvalidArgument("a block must be longer than the crossfade")
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="denoise")

    @property
    def workers(self) -> int:
        """How many blocks run at once."""
        return self._workers

    def close(self) -> None:
        """Stops the worker threads, after the blocks in progress."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BlockEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def denoise(self, samples: np.ndarray, sample_rate: int, *, amount: int = 100) -> np.ndarray:
        """Denoises a whole track.

        Args:
            samples: float32 audio of shape (frames, channels).
            sample_rate: its rate in Hz.
            amount: 1..100, how much the noise is reduced (see `attenuation_limit_db`).

        Returns:
            A new float32 array with the shape of `samples`, time-aligned with it.

        Raises:
            InvalidArgument: for a bad shape, rate or amount.
        """
        samples = _as_frames(samples, None)
        frames, channels = samples.shape
        chunks = (samples[i : i + _CHUNK_FRAMES] for i in range(0, frames, _CHUNK_FRAMES))
        parts = list(self.denoise_stream(chunks, sample_rate, amount=amount))
        if not parts:
            return np.zeros((0, channels), np.float32)
        return np.concatenate(parts)

    def denoise_stream(
        self, chunks: Iterable[np.ndarray], sample_rate: int, *, amount: int = 100
    ) -> Iterator[np.ndarray]:
        """Denoises a stream of chunks, holding only a few blocks in memory.

        Args:
            chunks: float32 arrays of shape (frames, channels), all with the same
                channel count; any lengths.
            sample_rate: their rate in Hz.
            amount: 1..100, how much the noise is reduced (see `attenuation_limit_db`).

        Returns:
            An iterator of float32 (frames, channels) chunks, time-aligned with the
            input, that add up to exactly as many frames. Closing it early stops
            the blocks not yet started.

        Raises:
            InvalidArgument: for a bad rate or amount here, for a bad chunk while
                iterating.
        """
        amount = check_amount(amount)
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise InvalidArgument(f"the sample rate must be a positive integer, not {sample_rate}")
        return self._stream(iter(chunks), sample_rate, amount)

    def _stream(self, chunks: Iterator[np.ndarray], rate: int, amount: int) -> Iterator[np.ndarray]:
        first = next(chunks, None)
        if first is None:
            return
        first = _as_frames(first, None)
        channels = first.shape[1]
        model_rate = self._model.sample_rate
        to_model = _Resampler(rate, model_rate, channels)
        from_model = _Resampler(model_rate, rate, channels)
        blocks = _Blocks(
            self._pool,
            self._model,
            amount,
            channels,
            block=self._block,
            lead=self._warmup + self._crossfade,
            crossfade=self._crossfade,
            max_pending=2 * self._workers,
        )
        frames_in = frames_out = 0

        def at_model_rate() -> Iterator[np.ndarray]:
            nonlocal frames_in
            for chunk in itertools.chain([first], chunks):
                chunk = _as_frames(chunk, channels)
                frames_in += chunk.shape[0]
                for resampled in to_model.push(chunk):
                    yield resampled.T
            for resampled in to_model.flush():
                yield resampled.T

        def filtered() -> Iterator[np.ndarray]:
            for planar in at_model_rate():
                yield from blocks.push(planar)
            yield from blocks.finish()

        try:
            for planar in filtered():
                for out in from_model.push(planar.T):
                    # Never ahead of the input: the resampler's rounding can add a frame.
                    out = out[: frames_in - frames_out]
                    frames_out += out.shape[0]
                    yield out
            for out in from_model.flush():
                out = out[: frames_in - frames_out]
                frames_out += out.shape[0]
                yield out
            if frames_out < frames_in:
                # Rounding can also leave it a frame short; silence makes it exact.
                yield np.zeros((frames_in - frames_out, channels), np.float32)
        finally:
            blocks.cancel()


class _Blocks:
    """Cuts the model-rate stream into overlapping blocks, runs them and joins them in order."""

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        model: FrameModel,
        amount: int,
        channels: int,
        *,
        block: int,
        lead: int,
        crossfade: int,
        max_pending: int,
    ) -> None:
        self._pool = pool
        self._model = model
        self._amount = amount
        self._channels = channels
        self._block = block
        self._lead = lead
        self._crossfade = crossfade
        self._delay = model.delay
        self._max_pending = max_pending
        # Model-rate samples not yet needed by a block, from `_start` on.
        self._pieces: list[np.ndarray] = []
        self._start = 0
        self._total = 0
        self._next = 0
        self._pending: deque[tuple[int, list[Future[np.ndarray]]]] = deque()
        self._held: np.ndarray | None = None
        # Raised-cosine weights: they sum to one, right for two versions of the same audio.
        t = (np.arange(self._crossfade) + 0.5) / self._crossfade
        self._fade_in = (np.sin(0.5 * np.pi * t) ** 2).astype(np.float32)

    def push(self, planar: np.ndarray) -> Iterator[np.ndarray]:
        """Takes (channels, n) model-rate samples; yields finished (channels, m) output."""
        if planar.shape[1]:
            self._pieces.append(planar)
            self._total += planar.shape[1]
        # A block is cut once the model's delay worth of real audio follows it,
        # so its last samples are filtered with their real future.
        while self._total >= self._next + self._block + self._delay:
            yield from self._submit(self._next + self._block)

    def finish(self) -> Iterator[np.ndarray]:
        """Runs the last blocks and yields the rest of the output."""
        while self._next < self._total:
            yield from self._submit(min(self._next + self._block, self._total))
        while self._pending:
            yield from self._collect()
        if self._held is not None:
            yield self._held
            self._held = None

    def cancel(self) -> None:
        for _, futures in self._pending:
            for future in futures:
                future.cancel()
        self._pending.clear()

    def _submit(self, end: int) -> Iterator[np.ndarray]:
        start = self._next
        lo = max(0, start - self._lead)
        hi = min(self._total, end + self._delay)
        window = self._window(lo, hi)
        keep_from = max(0, start - self._crossfade) - lo
        futures = [
            self._pool.submit(_run_block, self._model, self._amount, window[c], end - lo, keep_from)
            for c in range(self._channels)
        ]
        self._pending.append((start, futures))
        self._next = end
        self._drop_before(max(0, end - self._lead))
        while len(self._pending) > self._max_pending:
            yield from self._collect()

    def _collect(self) -> Iterator[np.ndarray]:
        start, futures = self._pending.popleft()
        out = np.stack([future.result() for future in futures])
        if start > 0:
            assert self._held is not None
            head = out[:, : self._crossfade]
            yield self._held + (head - self._held) * self._fade_in
            out = out[:, self._crossfade :]
        keep = min(self._crossfade, out.shape[1])
        if out.shape[1] > keep:
            yield out[:, : out.shape[1] - keep]
        self._held = out[:, out.shape[1] - keep :]

    def _window(self, lo: int, hi: int) -> np.ndarray:
        joined = np.concatenate(self._pieces, axis=1) if len(self._pieces) > 1 else self._pieces[0]
        self._pieces = [joined]
        return joined[:, lo - self._start : hi - self._start]

    def _drop_before(self, position: int) -> None:
        if position <= self._start or not self._pieces:
            return
        joined = np.concatenate(self._pieces, axis=1) if len(self._pieces) > 1 else self._pieces[0]
        self._pieces = [joined[:, position - self._start :].copy()]
        self._start = position


def _run_block(
    model: FrameModel, amount: int, samples: np.ndarray, length: int, keep_from: int
) -> np.ndarray:
    """Filters one channel of one block on a fresh state; returns the aligned output
    for samples[keep_from:length]."""
    delay = model.delay
    hop = model.hop_size
    padded = -(-(length + delay) // hop) * hop
    feed = np.zeros(padded, np.float32)
    used = min(samples.shape[0], padded)
    feed[:used] = samples[:used]
    state = model.open(amount)
    try:
        filtered = state.process(feed)
    finally:
        state.close()
    return filtered[delay + keep_from : delay + length]


class _Resampler:
    """Streams (frames, channels) float32 audio from one rate to another with PyAV.

    FFmpeg's resampler is time-aligned: the first output sample is at the time of
    the first input sample, so no delay needs compensating. Packed samples only:
    PyAV crashes on planar audio with eight channels or more. The layout is "N
    channels" (order unspecified), which FFmpeg accepts for any count and never remixes.
    """

    def __init__(self, source: int, target: int, channels: int) -> None:
        self._source = source
        self._channels = channels
        self._layout = av.AudioLayout(f"{channels} channels")
        self._resampler = (
            None
            if source == target
            else av.AudioResampler(format="flt", layout=self._layout, rate=target)
        )

    def push(self, samples: np.ndarray) -> Iterator[np.ndarray]:
        """Takes (frames, channels) samples; yields resampled (frames, channels) arrays."""
        if self._resampler is None:
            # A copy: the caller may refill its buffer while a block still needs it.
            yield samples.copy()
            return
        if not samples.shape[0]:
            return
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1),
            format="flt",
            layout=self._layout,
        )
        frame.sample_rate = self._source
        yield from self._unpack(self._resampler.resample(frame))

    def flush(self) -> Iterator[np.ndarray]:
        """Yields what the resampler still holds."""
        if self._resampler is not None:
            yield from self._unpack(self._resampler.resample(None))

    def _unpack(self, frames: list[av.AudioFrame]) -> Iterator[np.ndarray]:
        for frame in frames:
            yield frame.to_ndarray().reshape(-1, self._channels)


def _whole_hops(seconds: float, rate: int, hop: int) -> int:
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidArgument(f"durations must be finite and not negative, not {seconds}")
    return int(round(seconds * rate / hop)) * hop


def _as_frames(chunk: np.ndarray, channels: int | None) -> np.ndarray:
    """Checks a chunk's shape; returns it as finite, bounded, C-ordered float32."""
    chunk = np.asarray(chunk)
    if chunk.ndim != 2 or chunk.shape[1] < 1:
        raise InvalidArgument(f"audio must be shaped (frames, channels), not {chunk.shape}")
    if channels is not None and chunk.shape[1] != channels:
        raise InvalidArgument(
            f"every chunk must have {channels} channels; this one has {chunk.shape[1]}"
        )
    if not np.issubdtype(chunk.dtype, np.floating):
        raise InvalidArgument(f"audio must be floating point, not {chunk.dtype}")
    chunk = np.ascontiguousarray(chunk, dtype=np.float32)
    if not np.isfinite(chunk).all() or np.abs(chunk).max(initial=0.0) > _MAX_ABS:
        # A NaN makes libDF abort the whole process; garbage samples become silence
        # or are clipped rather than crash a worker.
        chunk = np.clip(np.nan_to_num(chunk, nan=0.0, posinf=0.0, neginf=0.0), -_MAX_ABS, _MAX_ABS)
    return chunk
