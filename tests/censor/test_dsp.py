"""Censoring DSP: each method replaces exactly the span, click-free."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.censor.dsp import (
    MAX_PEAK_DBFS,
    MIN_LEVEL_DBFS,
    Span,
    db_to_amplitude,
    local_level_db,
    render,
    rms_db,
)
from services.common.errors import InvalidArgument

RATE = 44_100
RAMP = 0.005
FADE = round(RAMP * RATE)


def _music(seconds: float = 3.0, level: float = 0.2, seed: int = 1) -> np.ndarray:
    """Stereo tones plus noise, different on each channel."""
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    left = np.sin(2 * np.pi * 440 * t) + 0.3 * rng.standard_normal(t.size)
    right = np.sin(2 * np.pi * 330 * t) + 0.3 * rng.standard_normal(t.size)
    stereo = np.stack([left, right], axis=1)
    return (level * stereo / np.max(np.abs(stereo))).astype(np.float32)


def _frames(span: Span) -> tuple[int, int]:
    """Frames fully replaced, and the first and last frame a fade may touch."""
    return math.floor(span.start * RATE), math.ceil(span.end * RATE)


def _dominant_frequency(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    return float(np.fft.rfftfreq(signal.size, 1 / RATE)[np.argmax(spectrum)])


# levels


def test_rms_db():
    t = np.arange(RATE) / RATE
    assert rms_db(np.sin(2 * np.pi * 1000 * t)) == pytest.approx(-3.01, abs=0.01)
    assert rms_db(np.zeros((10, 2))) == -200.0
    assert rms_db(np.zeros((0, 2))) == -200.0
    assert db_to_amplitude(-20.0) == pytest.approx(0.1)


def test_local_level_leaves_the_span_out():
    audio = np.full((3 * RATE, 1), 0.1, dtype=np.float32)
    audio[RATE : 2 * RATE] = 0.9  # a shouted word
    assert local_level_db(audio, RATE, Span(1.0, 2.0)) == pytest.approx(-20.0, abs=0.01)


# render


@pytest.mark.parametrize("method", ["silence", "beep", "white_noise"])
def test_audio_outside_span_and_ramps_is_bit_identical(method):
    audio = _music()
    span = Span(1.0, 1.5)
    out = render(audio, RATE, [span], method, ramp=RAMP)
    start, stop = _frames(span)
    assert out.shape == audio.shape and out.dtype == np.float32
    assert np.array_equal(out[: start - FADE], audio[: start - FADE])
    assert np.array_equal(out[stop + FADE :], audio[stop + FADE :])
    assert not np.array_equal(out[start:stop], audio[start:stop])


def test_render_does_not_modify_its_input():
    audio = _music()
    before = audio.copy()
    render(audio, RATE, [Span(1.0, 1.5)], "beep")
    assert np.array_equal(audio, before)


def test_silence_zeroes_the_whole_span():
    audio = _music()
    span = Span(1.0, 1.5)
    out = render(audio, RATE, [span], "silence")
    start, stop = _frames(span)
    assert not np.any(out[start:stop])
    # The fades sit outside the span: audio still fades out just before it.
    assert 0 < np.abs(out[start - FADE // 2]).max() < np.abs(audio[start - FADE // 2]).max()


def test_beep_is_1khz_at_the_surrounding_level():
    audio = _music(level=0.3)
    span = Span(1.0, 1.5)
    out = render(audio, RATE, [span], "beep")
    start, stop = _frames(span)
    inside = out[start:stop]
    assert _dominant_frequency(inside[:, 0]) == pytest.approx(1000.0, abs=5.0)
    around = np.concatenate([audio[start - RATE : start], audio[stop : stop + RATE]])
    assert rms_db(inside) == pytest.approx(rms_db(around), abs=3.0)


def test_white_noise_is_broadband_at_the_surrounding_level():
    audio = _music(level=0.3)
    span = Span(1.0, 1.5)
    out = render(audio, RATE, [span], "white_noise")
    start, stop = _frames(span)
    inside = out[start:stop, 0].astype(np.float64)
    around = np.concatenate([audio[start - RATE : start], audio[stop : stop + RATE]])
    assert rms_db(inside) == pytest.approx(rms_db(around), abs=3.0)
    # White: the energy is spread evenly, low half and high half alike.
    power = np.abs(np.fft.rfft(inside)) ** 2
    half = power.size // 2
    assert 0.8 < power[:half].sum() / power[half:].sum() < 1.25
    assert np.abs(inside).max() <= db_to_amplitude(MAX_PEAK_DBFS) + 1e-6


def test_beep_is_never_louder_than_minus_6_dbfs_peak():
    t = np.arange(3 * RATE) / RATE
    loud = np.sign(np.sin(2 * np.pi * 100 * t))[:, None].astype(np.float32)  # full-scale square
    out = render(loud, RATE, [Span(1.0, 1.5)], "beep")
    start, stop = _frames(Span(1.0, 1.5))
    assert np.abs(out[start:stop]).max() <= db_to_amplitude(MAX_PEAK_DBFS) + 1e-6
    assert np.abs(out[start:stop]).max() > db_to_amplitude(MAX_PEAK_DBFS) - 0.01


@pytest.mark.parametrize("method", ["beep", "white_noise"])
def test_replacement_in_silence_is_still_audible(method):
    quiet = np.zeros((3 * RATE, 2), dtype=np.float32)
    out = render(quiet, RATE, [Span(1.0, 1.5)], method)
    start, stop = _frames(Span(1.0, 1.5))
    assert rms_db(out[start:stop]) == pytest.approx(MIN_LEVEL_DBFS, abs=0.5)


@pytest.mark.parametrize("method", ["silence", "beep"])
def test_span_edges_do_not_click(method):
    t = np.arange(3 * RATE) / RATE
    tone = (0.8 * np.sin(2 * np.pi * 440 * t))[:, None].astype(np.float32)
    # Start and end on the tone's peaks, where a hard cut jumps the most.
    span = Span(1.0 + 0.25 / 440, 1.5 + 0.25 / 440)
    start, stop = _frames(span)
    hard_cut = tone.copy()
    hard_cut[start:stop] = 0.0
    out = render(tone, RATE, [span], method)
    edges = np.r_[start - 2 * FADE : start + 2 * FADE, stop - 2 * FADE : stop + 2 * FADE]
    worst = np.abs(np.diff(out[:, 0]))[edges].max()
    worst_cut = np.abs(np.diff(hard_cut[:, 0]))[edges].max()
    natural = np.abs(np.diff(tone[:, 0])).max()  # the tone's own steepest step
    assert worst_cut > 0.7
    assert worst < 2.5 * natural < 0.2 * worst_cut


@pytest.mark.parametrize("method", ["silence", "beep", "white_noise"])
def test_fades_start_and_end_gently(method):
    audio = _music(level=0.9)
    span = Span(1.0, 1.5)
    out = render(audio, RATE, [span], method)
    start, stop = _frames(span)
    # The outermost fade frames are almost all original audio, the innermost
    # almost all replacement: a gradual crossfade, not a jump.
    change = np.abs(out - audio).max(axis=1)
    assert change[start - FADE] < 0.01 and change[stop + FADE - 1] < 0.01
    assert change[start - FADE : start - FADE + 5].max() < 0.02


@pytest.mark.parametrize("method", ["beep", "white_noise"])
def test_stereo_gets_the_same_replacement_on_both_channels(method):
    audio = _music()
    span = Span(1.0, 1.5)
    out = render(audio, RATE, [span], method)
    start, stop = _frames(span)
    assert not np.array_equal(audio[start:stop, 0], audio[start:stop, 1])
    assert np.array_equal(out[start:stop, 0], out[start:stop, 1])


def test_noise_is_repeatable_with_a_seed():
    audio = _music()
    spans = [Span(1.0, 1.5)]
    first = render(audio, RATE, spans, "white_noise", seed=7)
    assert np.array_equal(first, render(audio, RATE, spans, "white_noise", seed=7))
    assert not np.array_equal(first, render(audio, RATE, spans, "white_noise", seed=8))


def test_close_and_overlapping_spans_render_as_one():
    audio = _music()
    out = render(audio, RATE, [Span(1.0, 1.2), Span(1.1, 1.3), Span(1.302, 1.4)], "silence")
    start, stop = _frames(Span(1.0, 1.4))
    assert not np.any(out[start:stop])


def test_spans_past_either_end_are_clipped():
    audio = _music(seconds=1.0)
    out = render(audio, RATE, [Span(-1.0, 0.1), Span(0.9, 5.0)], "silence")
    assert not np.any(out[: int(0.1 * RATE)])
    assert not np.any(out[int(0.9 * RATE) + 1 :])
    assert out.shape == audio.shape


def test_a_span_covering_everything_uses_its_own_level():
    audio = _music(seconds=1.0, level=0.3)
    out = render(audio, RATE, [Span(0.0, 1.0)], "beep")
    assert rms_db(out) == pytest.approx(rms_db(audio), abs=3.0)


def test_no_spans_returns_an_equal_copy():
    audio = _music(seconds=0.5)
    out = render(audio, RATE, [], "beep")
    assert out is not audio and np.array_equal(out, audio)


def test_unknown_method_is_rejected():
    with pytest.raises(InvalidArgument, match="unknown censor method 'bleep'"):
        render(_music(seconds=0.1), RATE, [Span(0.0, 0.05)], "bleep")


def test_bad_shape_is_rejected():
    with pytest.raises(InvalidArgument, match="frames, channels"):
        render(np.zeros(100, dtype=np.float32), RATE, [], "silence")
