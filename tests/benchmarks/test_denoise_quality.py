"""The denoise benchmark's pure parts: SI-SDR, the noise generators, SNR mixing, averaging."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.denoise_quality import (
    babble,
    colored_noise,
    hum,
    mix_at_snr,
    si_sdr,
    summarize,
)

RATE = 22_050


def _psd(noise: np.ndarray, segment: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Averaged periodogram (Hann windows, half overlap): frequencies and power."""
    window = np.hanning(segment)
    starts = range(0, noise.shape[0] - segment + 1, segment // 2)
    power = np.mean([np.abs(np.fft.rfft(noise[i : i + segment] * window)) ** 2 for i in starts], 0)
    return np.fft.rfftfreq(segment, 1 / RATE), power


def _slope(noise: np.ndarray) -> float:
    """The log-log slope of the power spectrum between 50 Hz and 5 kHz."""
    freqs, power = _psd(noise)
    band = (freqs >= 50) & (freqs <= 5000)
    return float(np.polyfit(np.log10(freqs[band]), np.log10(power[band]), 1)[0])


def test_si_sdr_of_a_known_distortion():
    t = np.arange(RATE) / RATE
    speech = np.sin(2 * np.pi * 220 * t)
    # A cosine at the same frequency is orthogonal over whole periods: all of it is distortion.
    distortion = np.cos(2 * np.pi * 220 * t) * math.sqrt(0.1)
    assert si_sdr(speech, speech + distortion) == pytest.approx(10.0, abs=0.01)


def test_si_sdr_ignores_scale_and_offset_but_not_noise():
    rng = np.random.default_rng(1)
    speech = rng.standard_normal(RATE)
    noisy = speech + 0.3 * rng.standard_normal(RATE)
    assert si_sdr(speech, 0.25 * noisy + 0.1) == pytest.approx(si_sdr(speech, noisy), abs=1e-6)
    assert si_sdr(speech, speech) > 100
    assert si_sdr(speech, noisy) < si_sdr(speech, speech + 0.1 * rng.standard_normal(RATE))


@pytest.mark.parametrize(("exponent", "name"), [(0.0, "white"), (-1.0, "pink"), (-2.0, "brown")])
def test_noise_colours_have_their_spectral_slope(exponent, name):
    noise = colored_noise(10 * RATE, RATE, exponent, np.random.default_rng(7))
    assert noise.dtype == np.float32 and noise.shape == (10 * RATE,)
    assert math.sqrt(np.mean(np.square(noise, dtype=np.float64))) == pytest.approx(1.0, rel=1e-4)
    assert _slope(noise) == pytest.approx(exponent, abs=0.1), name


def test_coloured_noise_holds_nothing_below_the_audible_band():
    noise = colored_noise(5 * RATE, RATE, -2.0, np.random.default_rng(2), low_hz=20.0)
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(noise.shape[0], 1 / RATE)
    assert spectrum[freqs < 19.9].sum() < 1e-9 * spectrum.sum()


def test_the_same_seed_gives_the_same_noise():
    first = colored_noise(RATE, RATE, -1.0, np.random.default_rng(3))
    again = colored_noise(RATE, RATE, -1.0, np.random.default_rng(3))
    other = colored_noise(RATE, RATE, -1.0, np.random.default_rng(4))
    assert np.array_equal(first, again) and not np.array_equal(first, other)


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_is_the_mains_frequency_and_its_harmonics(mains):
    noise = hum(4 * RATE, RATE, mains, np.random.default_rng(0))
    assert math.sqrt(np.mean(np.square(noise, dtype=np.float64))) == pytest.approx(1.0, rel=1e-4)
    spectrum = np.abs(np.fft.rfft(noise * np.hanning(noise.shape[0])))
    freqs = np.fft.rfftfreq(noise.shape[0], 1 / RATE)

    def level(f: float) -> float:
        return float(spectrum[np.argmin(np.abs(freqs - f))])

    # The fundamental is the loudest line; the harmonics fall as 1/k; between them, nothing.
    assert level(mains) == pytest.approx(spectrum.max())
    assert level(3 * mains) == pytest.approx(level(mains) / 3, rel=0.05)
    assert level(1.5 * mains) < level(mains) / 1000


def test_babble_is_the_talkers_at_equal_level():
    rng = np.random.default_rng(0)
    t = np.arange(2 * RATE) / RATE
    loud = np.sin(2 * np.pi * 300 * t).astype(np.float32)
    quiet = 0.01 * np.sin(2 * np.pi * 700 * t).astype(np.float32)
    mixed = babble(3 * RATE, [loud, quiet], rng)
    assert mixed.shape == (3 * RATE,)
    assert math.sqrt(np.mean(np.square(mixed, dtype=np.float64))) == pytest.approx(1.0, rel=1e-4)
    spectrum = np.abs(np.fft.rfft(mixed))
    freqs = np.fft.rfftfreq(mixed.shape[0], 1 / RATE)
    at300 = spectrum[np.abs(freqs - 300) < 5].max()
    at700 = spectrum[np.abs(freqs - 700) < 5].max()
    assert at700 == pytest.approx(at300, rel=0.2)


@pytest.mark.parametrize("snr", [0.0, 5.0, 10.0])
def test_mixing_gives_the_asked_snr(snr):
    rng = np.random.default_rng(5)
    speech = (0.05 * rng.standard_normal(RATE)).astype(np.float32)
    noise = colored_noise(2 * RATE, RATE, -1.0, rng)
    mix = mix_at_snr(speech, noise, snr)
    assert mix.shape == speech.shape and mix.dtype == np.float32
    added = mix.astype(np.float64) - speech
    measured = 10 * math.log10(np.mean(np.square(speech, dtype=np.float64)) / np.mean(added**2))
    assert measured == pytest.approx(snr, abs=0.01)


def test_summaries_average_each_group_and_skip_missing_scores():
    rows = [
        {"engine": "a", "noise": "hum", "si_sdr_improvement": 2.0, "pesq": 2.0, "stoi": 0.8},
        {"engine": "a", "noise": "hum", "si_sdr_improvement": 4.0, "pesq": None, "stoi": 0.6},
        {"engine": "b", "noise": "hum", "si_sdr_improvement": 1.0, "pesq": 1.5, "stoi": 0.5},
    ]
    assert summarize(rows, ("engine",)) == [
        {"engine": "a", "clips": 2, "si_sdr_improvement": 3.0, "pesq": 2.0, "stoi": 0.7},
        {"engine": "b", "clips": 1, "si_sdr_improvement": 1.0, "pesq": 1.5, "stoi": 0.5},
    ]
