"""Noise removal: DeepFilterNet3 cleans speech, keeps length, rate, channels and timing, and
its parallel blocks join without a seam; the amount scales the reduction."""

from __future__ import annotations

import gzip
import io
import math
import tarfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from services.censor.denoise import (
    BlockEngine,
    DeepFilterNet3,
    DenoiseEngine,
    attenuation_limit_db,
)
from services.common.errors import InvalidArgument, Unavailable
from tests.support.speech import RATE, Track, build_track

SNR_DB = 5.0
AMOUNTS = (1, 10, 25, 50, 75, 90, 100)


def _resample(audio: np.ndarray, source: int, target: int) -> np.ndarray:
    """Mono float32 audio at another rate (FFmpeg's resampler, time-aligned)."""
    if source == target:
        return audio
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = source
    out = [f.to_ndarray()[0] for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(out)[: round(audio.size * target / source)]


def _white_noise(like: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(like.size).astype(np.float32)
    scale = math.sqrt(np.mean(like**2) / np.mean(noise**2)) / 10 ** (snr_db / 20)
    return (noise * scale).astype(np.float32)


def _si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB."""
    reference = reference.astype(np.float64)
    estimate = estimate.astype(np.float64)
    target = np.dot(estimate, reference) / np.dot(reference, reference) * reference
    return float(10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2)))


def _snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    error = estimate.astype(np.float64) - reference
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / np.sum(error**2)))


def _lag(reference: np.ndarray, signal: np.ndarray, search: int) -> int:
    """The shift (samples, positive: `signal` is late) that best lines `signal` up with
    `reference`."""
    size = 1 << (reference.size + signal.size).bit_length()
    correlation = np.fft.irfft(
        np.fft.rfft(signal, size) * np.conj(np.fft.rfft(reference, size)), size
    )
    lags = np.r_[np.arange(0, search + 1), np.arange(-search, 0)]
    values = np.r_[correlation[: search + 1], correlation[-search:]]
    return int(lags[np.argmax(values)])


def _silent(track: Track, frames: int, rate: int, margin: float = 0.08) -> np.ndarray:
    """A mask of the frames where the speech is silent, `margin` seconds from any word."""
    mask = np.ones(frames, bool)
    for start, end in track.explicit + track.clean:
        mask[max(0, int((start - margin) * rate)) : int((end + margin) * rate)] = False
    return mask


@pytest.fixture(scope="module")
def track() -> Track:
    return build_track(
        [
            ("The quick brown fox jumps over the lazy dog.", False),
            ("Tomorrow we will drive to the coast.", False),
            ("Please remember to water the plants.", False),
        ],
        gap=0.3,
        lead=0.3,
    )


@pytest.fixture(scope="module")
def noisy(track: Track) -> np.ndarray:
    return track.audio + _white_noise(track.audio, SNR_DB, seed=1)


@pytest.fixture(scope="module")
def model() -> DeepFilterNet3:
    return DeepFilterNet3()


@pytest.fixture(scope="module")
def engine(model: DeepFilterNet3) -> Iterator[BlockEngine]:
    with BlockEngine(model, workers=2) as engine:
        yield engine


@pytest.fixture(scope="module")
def denoised(engine: BlockEngine, noisy: np.ndarray) -> np.ndarray:
    return engine.denoise(noisy[:, None], RATE)[:, 0]


class _Delay:
    """A `FrameModel` that only delays its input: the block engine must give it back."""

    sample_rate = 48_000
    hop_size = 480
    delay = 1440

    def open(self, amount: int) -> _Delay.State:
        return self.State()

    class State:
        def process(self, samples: np.ndarray) -> np.ndarray:
            return np.concatenate([np.zeros(1440, np.float32), samples[:-1440]])

        def close(self) -> None:
            pass


# Quality


def test_engine_is_a_denoise_engine(engine: BlockEngine):
    assert isinstance(engine, DenoiseEngine)


def test_speech_in_white_noise_comes_out_cleaner(track: Track, noisy, denoised):
    clean = track.audio
    si_sdr_gain = _si_sdr(clean, denoised) - _si_sdr(clean, noisy)
    snr_gain = _snr(clean, denoised) - _snr(clean, noisy)
    assert si_sdr_gain > 7.0, f"SI-SDR improved by only {si_sdr_gain:.1f} dB"
    assert snr_gain > 7.0, f"SNR improved by only {snr_gain:.1f} dB"


def test_noise_between_words_is_removed(track: Track, noisy, denoised):
    silent = _silent(track, noisy.size, RATE)
    removed = 10 * math.log10(np.sum(noisy[silent] ** 2) / np.sum(denoised[silent] ** 2))
    assert removed > 25.0, f"only {removed:.1f} dB of noise removed between words"


def test_clean_speech_passes_almost_unchanged(engine: BlockEngine, track: Track):
    out = engine.denoise(track.audio[:, None], RATE)[:, 0]
    assert _si_sdr(track.audio, out) > 15.0


# Shape and timing


@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100, 48_000])
def test_length_rate_and_timing_are_kept(engine: BlockEngine, track: Track, noisy, rate):
    clean = _resample(track.audio[: 3 * RATE], RATE, rate)
    mixed = _resample(noisy[: 3 * RATE], RATE, rate)
    out = engine.denoise(mixed[:, None], rate)
    assert out.shape == (mixed.size, 1)
    assert out.dtype == np.float32
    # DFN3's 30 ms delay is compensated: the output lines up with the clean speech.
    assert _lag(clean, out[:, 0], search=rate // 10) == 0
    # At 16 kHz only the noise under 8 kHz is left, the part that shares the band with
    # the speech: about +4 dB there, +9 dB at the other rates.
    assert _si_sdr(clean, out[:, 0]) - _si_sdr(clean, mixed) > 3.0


def test_stereo_channels_are_cleaned_separately(engine: BlockEngine, track: Track):
    left = track.audio
    right = np.roll(track.audio, RATE // 2) * 0.5
    stereo = np.stack(
        [left + _white_noise(left, SNR_DB, seed=2), right + _white_noise(right, SNR_DB, seed=3)],
        axis=1,
    )
    out = engine.denoise(stereo, RATE)
    assert out.shape == stereo.shape
    for channel, clean in enumerate((left, right)):
        assert _lag(clean, out[:, channel], search=RATE // 10) == 0
        assert _si_sdr(clean, out[:, channel]) - _si_sdr(clean, stereo[:, channel]) > 7.0
    # Each channel keeps its own content.
    assert _si_sdr(left, out[:, 0]) > _si_sdr(right, out[:, 0]) + 10
    assert _si_sdr(right, out[:, 1]) > _si_sdr(left, out[:, 1]) + 10


def test_short_and_empty_inputs_keep_their_length(engine: BlockEngine, noisy):
    for frames in (0, 1, 100, 479, 481, 4_000):
        out = engine.denoise(np.zeros((frames, 2), np.float32) + noisy[:frames, None], RATE)
        assert out.shape == (frames, 2)


def test_a_stream_in_odd_chunks_gives_the_whole_result(engine: BlockEngine, noisy, denoised):
    sizes = np.random.default_rng(4).integers(1, 6_000, size=400)
    bounds = np.r_[0, np.cumsum(sizes)]
    chunks = [
        noisy[a:b, None] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if a < noisy.size
    ]
    parts = list(engine.denoise_stream(iter(chunks), RATE))
    assert sum(p.shape[0] for p in parts) == noisy.size
    np.testing.assert_array_equal(np.concatenate(parts)[:, 0], denoised)


# Amount


def test_attenuation_limit_follows_loudness():
    assert attenuation_limit_db(50) == pytest.approx(10.0)
    assert attenuation_limit_db(75) == pytest.approx(20.0)
    assert attenuation_limit_db(1) < 0.2
    assert attenuation_limit_db(100) == math.inf
    limits = [attenuation_limit_db(a) for a in range(1, 101)]
    assert all(b > a for a, b in zip(limits, limits[1:], strict=False))


def test_noise_attenuation_rises_with_the_amount(engine: BlockEngine, track: Track, noisy):
    silent = _silent(track, noisy.size, RATE)
    noise_energy = np.sum(noisy[silent] ** 2)
    attenuation = []
    for amount in AMOUNTS:
        out = engine.denoise(noisy[:, None], RATE, amount=amount)[:, 0]
        attenuation.append(10 * math.log10(noise_energy / np.sum(out[silent] ** 2)))
    measured = dict(zip(AMOUNTS, np.round(attenuation, 1), strict=True))
    assert attenuation[0] < 1.0, measured  # 1: almost nothing
    assert 8.0 < measured[50] < 12.0, measured  # 50: half as loud
    # Every step is audible: at least 1 dB more.
    assert all(b > a + 1.0 for a, b in zip(attenuation, attenuation[1:], strict=False)), measured


# Blocks


@pytest.fixture(scope="module")
def split(model: DeepFilterNet3, noisy) -> np.ndarray:
    with BlockEngine(
        model, workers=2, block_seconds=1.5, warmup_seconds=1.0, crossfade_seconds=0.25
    ) as engine:
        return engine.denoise(noisy[:, None], RATE)[:, 0]


def test_blocks_run_in_parallel_give_the_serial_result(model: DeepFilterNet3, noisy, split):
    with BlockEngine(
        model, workers=1, block_seconds=1.5, warmup_seconds=1.0, crossfade_seconds=0.25
    ) as engine:
        serial = engine.denoise(noisy[:, None], RATE)[:, 0]
    np.testing.assert_array_equal(split, serial)


def test_block_joins_are_seamless(track: Track, noisy, denoised, split):
    """Blocks start on fresh recurrent states, so they are not sample-identical to one
    long run; what a listener would notice at a join is checked instead: the quality, the
    timing and any click."""
    clean = track.audio
    assert split.shape == denoised.shape
    assert _si_sdr(clean, split) > _si_sdr(clean, denoised) - 1.0
    joins = np.arange(1.5, noisy.size / RATE, 1.5)
    assert joins.size >= 4
    for join in joins:
        a, b = int((join - 0.75) * RATE), int((join + 0.5) * RATE)
        assert _lag(clean[a:b], split[a:b], search=RATE // 20) == 0
        assert _si_sdr(clean[a:b], split[a:b]) > _si_sdr(clean[a:b], denoised[a:b]) - 2.0
        # No click: the steepest step around the crossfade is no steeper than one
        # run has there.
        c, d = int((join - 0.3) * RATE), int((join + 0.05) * RATE)
        steepest = np.abs(np.diff(split[c:d])).max()
        assert steepest < 1.5 * np.abs(np.diff(denoised[c:d])).max() + 0.01


def test_blocks_rebuild_a_delayed_signal_exactly():
    signal = np.random.default_rng(5).uniform(-0.5, 0.5, (48_000 * 5 + 77, 3)).astype(np.float32)
    with BlockEngine(
        _Delay(), workers=2, block_seconds=1.0, warmup_seconds=0.3, crossfade_seconds=0.1
    ) as engine:
        np.testing.assert_array_equal(engine.denoise(signal, 48_000), signal)


def test_any_channel_count_goes_through_the_resamplers(track: Track):
    speech = track.audio[: 2 * RATE]
    signal = np.stack([np.roll(speech, 1000 * c) for c in range(9)], axis=1)
    with BlockEngine(_Delay(), block_seconds=0.5, crossfade_seconds=0.1) as engine:
        out = engine.denoise(signal, RATE)
    assert out.shape == signal.shape
    for c in range(9):
        assert _snr(signal[:, c], out[:, c]) > 30.0


def _stream_peak(engine: BlockEngine, minutes: int) -> int:
    """Streams `minutes` of 48 kHz noise through; returns the peak memory the stream took."""
    second = 48_000

    def chunks() -> Iterator[np.ndarray]:
        rng = np.random.default_rng(6)
        for _ in range(minutes * 60):
            yield rng.uniform(-0.5, 0.5, (second, 1)).astype(np.float32)

    tracemalloc.start()
    try:
        total = sum(out.shape[0] for out in engine.denoise_stream(chunks(), second))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == minutes * 60 * second
    return peak


def test_memory_stays_flat_on_a_long_stream():
    with BlockEngine(_Delay(), workers=2, block_seconds=5.0) as engine:
        short = _stream_peak(engine, 4)
        long = _stream_peak(engine, 16)
    whole = 16 * 60 * 48_000 * 4
    # How many blocks are in flight when the peak is taken depends on the threads'
    # timing, up to 2 per worker, hence the slack; what matters is that four times
    # the audio does not take four times the memory.
    assert long < 2 * short, f"{short / 2**20:.0f} MiB for 4 minutes, {long / 2**20:.0f} for 16"
    assert long < whole / 8, f"{long / 2**20:.0f} MiB for {whole / 2**20:.0f} MiB of audio"


# Bad input


@pytest.mark.parametrize("amount", [0, 101, -5, "abc", "50", 50.5, True, None])
def test_an_amount_outside_1_to_100_is_refused(engine: BlockEngine, noisy, amount):
    with pytest.raises(InvalidArgument, match="amount"):
        engine.denoise(noisy[:1000, None], RATE, amount=amount)


@pytest.mark.parametrize(
    ("samples", "rate"),
    [
        (np.zeros(1000, np.float32), RATE),
        (np.zeros((1000, 0), np.float32), RATE),
        (np.zeros((1000, 1), np.int16), RATE),
        (np.zeros((1000, 1), np.float32), 0),
        (np.zeros((1000, 1), np.float32), 44_100.0),
    ],
)
def test_bad_audio_is_refused(engine: BlockEngine, samples, rate):
    with pytest.raises(InvalidArgument):
        engine.denoise(samples, rate)


def test_chunks_must_keep_their_channel_count(engine: BlockEngine):
    chunks = [np.zeros((1000, 2), np.float32), np.zeros((1000, 1), np.float32)]
    with pytest.raises(InvalidArgument, match="channels"):
        list(engine.denoise_stream(chunks, RATE))


def test_garbage_samples_do_not_crash_the_engine(engine: BlockEngine, noisy):
    samples = noisy[:RATE, None].copy()
    samples[100:200] = np.nan
    samples[300] = np.inf
    samples[400] = 1e30
    out = engine.denoise(samples, RATE)
    assert out.shape == samples.shape
    assert np.isfinite(out).all()


def _archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"export/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_model_that_cannot_load_is_unavailable(tmp_path: Path):
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a model")
    not_tar = tmp_path / "not_tar.tar.gz"
    not_tar.write_bytes(gzip.compress(b"not a tar"))
    incomplete = _archive(tmp_path / "incomplete.tar.gz", {"enc.onnx": b"x"})
    config = b"[train]\nmodel = deepfilternet2\n[df]\nsr = 48000\n"
    wrong = _archive(
        tmp_path / "dfn2.tar.gz",
        {"enc.onnx": b"x", "erb_dec.onnx": b"x", "df_dec.onnx": b"x", "config.ini": config},
    )
    for path in (tmp_path / "missing.tar.gz", garbage, not_tar, incomplete, wrong):
        with pytest.raises(Unavailable, match="DeepFilterNet3|DFN3"):
            DeepFilterNet3(path)
