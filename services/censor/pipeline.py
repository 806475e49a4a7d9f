"""The censor job pipeline as a pure core: decode, transcribe, match, render, encode.

Transport comes in through the constructor arguments: a transcribe function and a progress
callback. Nothing here knows about NATS, gRPC or the blob store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.censor import dsp
from services.censor.matching import Match, Matcher, Token
from services.common import media
from services.common.errors import InvalidArgument
from services.common.wordlists import WordEntry, severity_rank

__all__ = [
    "CensorRequest",
    "CensorResult",
    "CensoredWord",
    "Denoise",
    "Progress",
    "Transcribe",
    "hotword_order",
    "run_censor",
]

# (pcm mono 16 kHz, duration, hotwords) -> tokens and progress percentages, as they come.
Transcribe = Callable[[np.ndarray, float, Sequence[str]], AsyncIterator[Token | float]]
Progress = Callable[[str, float, str], Awaitable[None]]
# (samples (frames, channels), sample rate, amount 1..100) -> denoised samples, same shape.
Denoise = Callable[[np.ndarray, int, int], np.ndarray]

# Whisper's word times are estimates; a small margin keeps the edges of a word inaudible.
_PAD_BEFORE = 0.05
_PAD_AFTER = 0.08


# The profanity heard most in speech and song; they go first in the prompt, which only holds
# a few dozen words, so a long list does not crowd them out.
_COMMON = (
    "fuck",
    "shit",
    "damn",
    "bitch",
    "ass",
    "asshole",
    "hell",
    "crap",
    "dick",
    "bastard",
    "motherfucker",
    "piss",
    "cunt",
    "pussy",
    "cock",
    "whore",
    "slut",
)


def hotword_order(entries: Sequence[WordEntry]) -> list[str]:
    """The list's single words in the order to offer them to Whisper: the most common
    profanity first, then by severity (highest first), then alphabetically."""
    common = {word: i for i, word in enumerate(_COMMON)}
    words = {e.word: e for e in entries if " " not in e.word}
    return sorted(
        words,
        key=lambda w: (common.get(w, len(common)), -severity_rank(words[w].severity), w),
    )


@dataclass(frozen=True)
class CensorRequest:
    input_path: Path
    output_path: Path
    entries: Sequence[WordEntry]
    method: str
    min_severity: str
    output_format: str | None = None
    bitrate: str | None = None
    preserve_metadata: bool = True
    denoise: int = 0  # 0: off; 1..100: remove noise first, then transcribe and render
    dry_run: bool = False  # transcribe and match only: nothing is rendered or encoded
    allow: Sequence[str] = ()  # the list's words never to censor
    # Given spans are rendered as they are, without transcribing (a re-render).
    spans: Sequence[dsp.Span] | None = None


@dataclass(frozen=True)
class CensoredWord:
    """One matched word or phrase: Whisper's times and the times it is censored over."""

    match: Match
    whisper: dsp.Span
    refined: dsp.Span
    widened: bool = False


@dataclass(frozen=True)
class CensorResult:
    output_path: Path | None  # None for a dry run
    output_kind: str
    duration: float
    words: list[Token]
    matches: list[Match]
    spans: list[dsp.Span]
    censored: list[CensoredWord]
    words_detected: int  # matches of the list at any severity
    language: str = ""


async def run_censor(
    request: CensorRequest,
    transcribe: Transcribe,
    progress: Progress,
    denoise: Denoise | None = None,
) -> CensorResult:
    """Runs one job from the input file to the encoded output file.

    With ``request.denoise`` set, the decoded audio is cleaned by ``denoise`` first, so the
    transcription hears the cleaner audio and the output is the cleaned track, censored.

    Raises:
        InvalidArgument: for input that cannot be decoded or encoded as asked.
    """
    await progress("decode", 0.0, "Decoding audio...")
    info = await asyncio.to_thread(media.probe, request.input_path)
    audio = await asyncio.to_thread(media.decode, request.input_path)
    samples = audio.samples
    await progress("decode", 100.0, "Audio decoded")
    if request.denoise:
        if denoise is None:
            raise InvalidArgument("noise removal is not available in this worker")
        await progress("denoise", 0.0, "Removing background noise...")
        samples = await asyncio.to_thread(denoise, samples, audio.sample_rate, request.denoise)
        await progress("denoise", 100.0, "Background noise removed")
    mono = await asyncio.to_thread(media.to_mono_16k, samples, audio.sample_rate)

    words: list[Token] = []
    matches: list[Match] = []
    censored: list[CensoredWord] = []
    detected = 0
    if request.spans is not None:
        spans = dsp.merge_spans(list(request.spans), duration=audio.duration)
    else:
        await progress("transcription", 0.0, "Transcribing audio...")
        hotwords = hotword_order(request.entries)
        async for item in transcribe(mono, audio.duration, hotwords):
            if isinstance(item, Token):
                words.append(item)
            else:
                await progress("transcription", float(item), "Transcribing audio...")
        await progress("transcription", 100.0, f"Transcribed {len(words)} words")

        await progress("matching", 0.0, "Matching words against the list...")
        matches = Matcher(request.entries, request.min_severity, request.allow).match(words)
        detected = len(Matcher(request.entries, "low", request.allow).match(words))
        censored = [
            CensoredWord(
                match=m,
                whisper=dsp.Span(m.start, m.end),
                refined=dsp.Span(
                    max(0.0, m.start - _PAD_BEFORE), min(audio.duration, m.end + _PAD_AFTER)
                ),
            )
            for m in matches
        ]
        spans = dsp.merge_spans([c.refined for c in censored], duration=audio.duration)
        await progress("matching", 100.0, f"Found {len(matches)} words to censor")
    if request.dry_run:
        return CensorResult(
            output_path=None,
            output_kind=request.output_format or info.kind,
            duration=audio.duration,
            words=words,
            matches=matches,
            spans=spans,
            censored=censored,
            words_detected=detected,
        )

    await progress("rendering", 0.0, f"Censoring {len(spans)} spans...")
    rendered = await asyncio.to_thread(
        dsp.render, samples, audio.sample_rate, spans, request.method
    )
    await progress("rendering", 100.0, "Rendered")

    await progress("encoding", 0.0, "Encoding output...")
    await asyncio.to_thread(
        media.encode,
        rendered,
        audio.sample_rate,
        request.input_path,
        request.output_path,
        output_format=request.output_format or None,
        bitrate=request.bitrate or None,
        preserve_metadata=request.preserve_metadata,
    )
    await progress("encoding", 100.0, "Encoded")
    return CensorResult(
        output_path=request.output_path,
        output_kind=(request.output_format or info.kind),
        duration=audio.duration,
        words=words,
        matches=matches,
        spans=spans,
        censored=censored,
        words_detected=detected,
    )
