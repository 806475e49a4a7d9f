"""The transcriber's core: faster-whisper words and progress as events, no transport imports."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

from services.common.errors import FailedPrecondition, InvalidArgument

__all__ = [
    "DEVICES",
    "SAMPLE_RATE",
    "Event",
    "Info",
    "LoadedModel",
    "ModelCache",
    "ModelLoader",
    "Progress",
    "Transcriber",
    "WordResult",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
DEVICES = ("auto", "cpu", "cuda")
_MIN_SECONDS = 0.1
# Hotwords go into every window's prompt and, as the initial prompt, into the first one
# again; Whisper's context is 448 tokens, so each copy is capped to leave room for the text.
_HOTWORD_TOKEN_BUDGET = 96
# The last seconds of the audio are decoded without hotwords (see Transcriber.transcribe).
_TAIL_SECONDS = 3.0
_RELOOK_SECONDS = 1.0
_FRAME_SECONDS = 0.01
_WINDOW_SECONDS = 30.0
_ECHO_WORDS = 3
# Whisper's own checks of a decoded window, as faster-whisper applies them: a window that
# compresses better than this repeats itself, one below this mean log-probability is unsure
# (unless Whisper judged it silence).
_MAX_COMPRESSION = 2.4
_MIN_LOGPROB = -1.0
_NO_SPEECH = 0.6
# Window seams: a window ends where its last word does when Whisper cut its text there, so a
# word across the seam can come out as a fragment ("b -") with the rest misheard in the next
# window. Where a word within _SEAM_REACH of a seam is doubtful (less probable than
# _SEAM_PROBABILITY, shorter than _SEAM_SHORTEST or written as cut off), the audio within
# _SEAM_CONTEXT of the seam is decoded again as one clip and its words within _SEAM_REACH
# replace those of both windows there. A window's segments wait for the next window to
# start (faster-whisper decodes a window's segments at once, so progress lags one window).
_SEAM_REACH = 1.0
_SEAM_CONTEXT = 3.0
_SEAM_PROBABILITY = 0.4
_SEAM_SHORTEST = 0.02
# Phantoms: the prompt also makes Whisper write a listed word where nothing was said, at
# next to no probability (seen: "turn. porn," in the pause after "turn", at 0.0). A listed
# word (a hotword, or one starting with a hotword) less probable than _PHANTOM_PROBABILITY
# is decoded again without the prompt, with _PHANTOM_CONTEXT around it, and kept only if
# that decoding hears a word there that is not one of the prompted decoding's own words
# (the "turn." before the phantom). A real word at that probability is heard there, as
# itself or as a near-homophone.
_PHANTOM_PROBABILITY = 0.05
_PHANTOM_CONTEXT = 1.5
# A loop ("fuck fuck fuck ...") runs until the context is full: with the prompt about 250
# tokens, several seconds of beam search for a window of half a second (measured on the
# censor_stages speech: loops took half the transcription time). Audio shorter than the cap
# below may write at most _TOKENS_PER_SECOND a second (fast rap is about 8 with the
# timestamps) and _TOKENS_BASE more; a loop cut there still fails the compression check.
_TOKENS_PER_SECOND = 10
_TOKENS_BASE = 20
_MAX_CAPPED_TOKENS = 160


@dataclass(frozen=True)
class Info:
    """What the transcription runs with; the first event of every transcription."""

    language: str
    language_probability: float
    model: str
    device: str
    compute_type: str


@dataclass(frozen=True)
class WordResult:
    """One recognised word; times in seconds of the source (offset added)."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Progress:
    """How far decoding got: percent of the source, and seconds of it processed."""

    percent: float
    processed_seconds: float


Event = Info | WordResult | Progress


@dataclass(frozen=True)
class LoadedModel:
    """A loaded Whisper model and where it runs."""

    whisper: Any
    name: str
    device: str
    compute_type: str


ModelLoader = Callable[[str, str, str], Any]
"""Loads a model: (folder or hub name, "cpu" or "cuda", compute type) -> a WhisperModel."""


def _whisper_loader(cpu_threads: int) -> ModelLoader:
    def load(model: str, device: str, compute_type: str) -> Any:
        return WhisperModel(
            model,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            # Hub names only reach here when downloads are allowed (see resolve_model).
            local_files_only=False,
        )

    return load


def _cuda_compute_type() -> str:
    try:
        supported = ctranslate2.get_supported_compute_types("cuda")
    except RuntimeError:
        return "float16"
    return "float16" if "float16" in supported else "float32"


def _warm_up(whisper: Any) -> None:
    """Encodes and decodes a second of silence, so missing CUDA libraries fail at load."""
    segments, _ = whisper.transcribe(
        np.zeros(SAMPLE_RATE, dtype=np.float32),
        language="en",
        beam_size=1,
        temperature=0.0,
        max_new_tokens=4,
        without_timestamps=True,
    )
    for _segment in segments:
        pass


class ModelCache:
    """Loads each (model, device) once per process and hands out the same instance; thread-safe.

    ``device="auto"`` means CUDA with float16 when CTranslate2 sees a GPU, else the
    CPU with int8, as in faster-whisper. A GPU that fails to load a model under
    "auto" (missing cuBLAS or cuDNN, say) is logged and the CPU is used instead.
    """

    def __init__(
        self,
        resolve: Callable[[str], str],
        *,
        load: ModelLoader | None = None,
        cpu_threads: int = 0,
        cuda_device_count: Callable[[], int] = ctranslate2.get_cuda_device_count,
    ) -> None:
        """Args:
        resolve: Turns a model name into a folder or hub name (``resolve_model``
            with the models folder bound); raises domain errors.
        load: Builds a model; faster-whisper's ``WhisperModel`` by default.
        cpu_threads: CTranslate2 threads on the CPU; 0 lets it choose.
        cuda_device_count: How many CUDA devices CTranslate2 sees.
        """
        self._resolve = resolve
        self._load = load or _whisper_loader(cpu_threads)
        self._cuda_device_count = cuda_device_count
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._models: dict[tuple[str, str], LoadedModel] = {}
        self._cuda_usable: bool | None = None

    def get(self, model: str, device: str) -> LoadedModel:
        """Returns the model loaded on the device, loading it on first use.

        Args:
            model: A model name as ``resolve`` takes it ("" for the default).
            device: "auto", "cpu" or "cuda".

        Returns:
            The cached model with the device and compute type it runs on.
        """
        device = device.strip().lower() or "auto"
        if device not in DEVICES:
            raise InvalidArgument(f"device must be one of {', '.join(DEVICES)}, not '{device}'")
        name = model.strip()
        source = self._resolve(name)
        if device == "cuda":
            if self._cuda_device_count() == 0:
                raise FailedPrecondition("device 'cuda' was requested but no CUDA GPU is available")
            return self._get(name, source, "cuda")
        if device == "auto" and self._cuda_usable is not False and self._cuda_device_count() > 0:
            try:
                return self._get(name, source, "cuda")
            except FailedPrecondition as exc:
                logger.warning("GPU unusable, falling back to the CPU: %s", exc.message)
                self._cuda_usable = False
        return self._get(name, source, "cpu")

    def _get(self, name: str, source: str, device: str) -> LoadedModel:
        key = (source, device)
        with self._lock:
            cached = self._models.get(key)
            if cached is not None:
                return cached
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                cached = self._models.get(key)
            if cached is not None:
                return cached
            loaded = self._load_model(name, source, device)
            with self._lock:
                self._models[key] = loaded
            return loaded

    def _load_model(self, name: str, source: str, device: str) -> LoadedModel:
        compute_type = _cuda_compute_type() if device == "cuda" else "int8"
        started = time.perf_counter()
        try:
            whisper = self._load(source, device, compute_type)
            if device == "cuda":
                _warm_up(whisper)
        except Exception as exc:  # noqa: BLE001 - CTranslate2 and the hub raise many kinds
            raise FailedPrecondition(
                f"cannot load Whisper model '{name or source}' on {device}: {exc}"
            ) from exc
        compute_type = getattr(getattr(whisper, "model", None), "compute_type", compute_type)
        logger.info(
            "loaded Whisper model %s on %s (%s) in %.1f s",
            source,
            device,
            compute_type,
            time.perf_counter() - started,
        )
        return LoadedModel(whisper=whisper, name=name, device=device, compute_type=compute_type)


def _clean_hotwords(hotwords: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    words = []
    for word in hotwords:
        word = " ".join(word.split())
        if word and word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return words


def _hotword_text(whisper: Any, words: list[str]) -> str | None:
    """Joins the hotwords into a prompt that fits the token budget; None when there are none."""
    tokenizer = getattr(whisper, "hf_tokenizer", None)
    kept: list[str] = []
    used = 0
    for word in words:
        piece = f" {word},"
        cost = len(tokenizer.encode(piece, add_special_tokens=False).ids) if tokenizer else 4
        if used + cost > _HOTWORD_TOKEN_BUDGET:
            logger.debug("hotwords cut to %s of %s to fit the prompt", len(kept), len(words))
            break
        kept.append(word)
        used += cost
    return ", ".join(kept) if kept else None


def _check_seconds(name: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise InvalidArgument(f"{name} must be a finite number of seconds >= 0, not {value}")


class _Meter:
    """Turns positions in this audio into Progress events that only ever rise."""

    def __init__(self, *, seconds: float, duration: float | None, offset: float) -> None:
        self.seconds = seconds
        self.duration = duration
        self.offset = offset
        self._percent = -1.0

    def at(self, processed: float) -> Progress | None:
        processed = min(max(processed, 0.0), self.seconds)
        if self.duration:  # relative to the whole source this audio is part of
            percent = (self.offset + processed) / self.duration * 100
        else:
            percent = processed / self.seconds * 100 if self.seconds else 100.0
        percent = min(100.0, max(0.0, percent))
        if percent <= self._percent:
            return None
        self._percent = percent
        return Progress(percent=percent, processed_seconds=self.offset + processed)

    def end(self) -> Progress:
        final = self.at(self.seconds)
        percent = max(self._percent, 0.0)
        return final or Progress(percent=percent, processed_seconds=self.offset + self.seconds)


class Transcriber:
    """Transcribes 16 kHz mono float32 audio into words with timestamps, streamed as events."""

    def __init__(self, models: ModelCache, *, beam_size: int = 5) -> None:
        """Args:
        models: Where models are loaded and cached.
        beam_size: Beam width of the decoder.

        Every pass is a beam search at temperature 0, so the same audio gives the same words
        whatever the process decoded before. faster-whisper's own fallback samples at rising
        temperatures instead, from CTranslate2 random generators that each worker thread
        seeds once, at its first draw: its words depended on what the model had sampled
        before (measured: one clip decoded twice in a row at temperature 1.0 gave two
        transcripts). Windows that fail Whisper's checks are decoded again with less prompt
        (see ``transcribe``).
        """
        self._models = models
        self._beam_size = beam_size

    def preload(self, *, model: str, device: str) -> LoadedModel:
        """Loads a model ahead of the first request.

        Args:
            model: A model name or folder ("" for the bundled base).
            device: "auto", "cpu" or "cuda".

        Returns:
            The loaded model with the device and compute type it runs on.
        """
        return self._models.get(model, device)

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        model: str,
        device: str,
        language: str | None,
        hotwords: Sequence[str],
        duration: float | None,
        offset: float,
    ) -> Iterator[Event]:
        """Yields Info, then each segment's words followed by a Progress, as decoding goes.

        Every word is kept (no voice-activity filter) so a censor misses none; closing
        the iterator stops decoding after the current segment.

        Args:
            audio: Mono float32 samples at 16 kHz.
            model: A model name or folder ("" for the bundled base).
            device: "auto", "cpu" or "cuda".
            language: An ISO 639-1 code, or None to detect it.
            hotwords: Words to prefer over near-homophones.
            duration: Length in seconds of the whole source, when this audio is a
                part of it; progress is then relative to the source. None: this audio.
            offset: Where this audio starts in the source, in seconds; added to
                every time.

        Returns:
            An iterator of Info, WordResult and Progress events; the last is a Progress.
        """
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim != 1:
            raise InvalidArgument(f"audio must be mono (one dimension), not shape {samples.shape}")
        if not np.isfinite(samples).all():
            raise InvalidArgument("audio holds NaN or infinite samples")
        _check_seconds("duration", duration)
        _check_seconds("offset", offset)
        loaded = self._models.get(model, device)
        whisper = loaded.whisper
        language = (language or "").strip().lower() or None
        if language is not None and language not in whisper.supported_languages:
            raise InvalidArgument(f"language '{language}' is not supported by the model")
        seconds = samples.shape[0] / SAMPLE_RATE
        meter = _Meter(seconds=seconds, duration=duration, offset=offset)
        model_name = model.strip() or "base"

        if seconds < _MIN_SECONDS:
            yield Info(
                language=language or "",
                language_probability=1.0 if language else 0.0,
                model=model_name,
                device=loaded.device,
                compute_type=loaded.compute_type,
            )
            yield meter.end()
            return

        prompt = _hotword_text(whisper, _clean_hotwords(hotwords))
        segments, info = self._decode(whisper, samples, language=language, prompt=prompt)
        yield Info(
            language=info.language,
            language_probability=float(info.language_probability),
            model=model_name,
            device=loaded.device,
            compute_type=loaded.compute_type,
        )
        guard = seconds - _TAIL_SECONDS if prompt else None

        def bare(start: float, end: float) -> Iterator[Any]:
            return self._decode(
                whisper, samples, language=info.language, prompt=None, clip=(start, end)
            )[0]

        heard = bare  # a window seam heard again; with the prompt when there is one
        if prompt:
            # The prompt holds the listed words twice (hotwords and initial prompt). A window
            # that fails Whisper's checks with it (a loop over "fuck, fuck, ...", measured on
            # whole 15 s clips) is decoded again with the hotwords alone; one that still fails,
            # or that echoes the prompt, without any.
            hot = {_bare(w) for w in prompt.split(",")}

            def lighter(start: float, end: float) -> Iterator[Any]:
                segments, _ = self._decode(
                    whisper,
                    samples,
                    language=info.language,
                    prompt=prompt,
                    clip=(start, end),
                    initial_prompt=False,
                )
                return _redecoded(segments, bare)

            def prompted(start: float, end: float) -> Iterator[Any]:
                # Past the guard, as in the tail pass, without the prompt.
                if guard is not None and end > guard:
                    return bare(start, end)
                segments, _ = self._decode(
                    whisper, samples, language=info.language, prompt=prompt, clip=(start, end)
                )
                return _unechoed(_redecoded(segments, lighter), hot, bare)

            heard = prompted
            segments = _unechoed(_redecoded(segments, lighter), hot, bare)

        def passes() -> Iterator[Any]:
            stop = yield from _until(segments, guard, seconds)
            if stop is not None and (not stop.saw_end or seconds - stop.at >= _RELOOK_SECONDS):
                # With hotwords in the prompt Whisper "hears" them in the near-silence after
                # the last word when it looks there again, and retries that window at every
                # temperature: measured on a 3 s clip, a phantom "fuck" and 6x the time. So
                # the rest is decoded without them; a remainder under a second that the last
                # window saw whole is not looked at again.
                yield from bare(stop.at, seconds)

        words = _reseamed(passes(), heard, seconds=seconds)
        if prompt:
            listed = {_bare(w) for w in _clean_hotwords(hotwords)}
            words = _confirmed(words, listed, bare, seconds=seconds)
        yield from _events(words, meter)
        yield meter.end()

    def _decode(
        self,
        whisper: Any,
        samples: np.ndarray,
        *,
        language: str | None,
        prompt: str | None,
        clip: tuple[float, float] | None = None,
        initial_prompt: bool = True,
    ) -> tuple[Iterator[Any], Any]:
        seconds = clip[1] - clip[0] if clip else samples.shape[0] / SAMPLE_RATE
        return whisper.transcribe(  # type: ignore[no-any-return]
            samples,
            language=language,
            beam_size=self._beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
            hotwords=prompt,
            initial_prompt=prompt if initial_prompt else None,
            clip_timestamps=list(clip) if clip else "0",
            temperature=0.0,
            max_new_tokens=_token_cap(seconds),
        )


def _token_cap(seconds: float) -> int | None:
    """The most tokens Whisper may write for audio this long, or None for its context's."""
    tokens = _TOKENS_BASE + math.ceil(_TOKENS_PER_SECOND * max(0.0, seconds))
    return tokens if tokens <= _MAX_CAPPED_TOKENS else None


def _bare(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum() or c == " ").strip()


def _doubted(segment: Any) -> str | None:
    """Why Whisper's own checks doubt a segment's window, or None.

    faster-whisper scores each 30 s window once, so every segment of a window shares them.
    """
    if getattr(segment, "compression_ratio", 0.0) > _MAX_COMPRESSION:
        return "repeats itself"
    if (
        getattr(segment, "avg_logprob", 0.0) < _MIN_LOGPROB
        and getattr(segment, "no_speech_prob", 0.0) <= _NO_SPEECH
    ):
        return "is unsure of speech"
    return None


def _redecoded(
    segments: Iterator[Any], again: Callable[[float, float], Iterator[Any]]
) -> Iterator[Any]:
    """The segments, each run of doubted ones from one window decoded again by ``again``."""
    run: list[Any] = []

    def flush() -> Iterator[Any]:
        logger.info(
            "window %.2f-%.2f s %s (%s); decoding it again with less prompt",
            run[0].start,
            run[-1].end,
            _doubted(run[0]),
            " ".join(_bare(w.word) for s in run for w in s.words or ())[:200],
        )
        yield from _in_window(again(float(run[0].start), float(run[-1].end)), run[0])
        run.clear()

    for segment in segments:
        if run and getattr(segment, "seek", None) != getattr(run[0], "seek", None):
            yield from flush()
        if _doubted(segment) is None:
            if run:
                yield from flush()
            yield segment
        else:
            run.append(segment)
    if run:
        yield from flush()


def _echoes(segment: Any, hotwords: set[str]) -> bool:
    """Whether a segment decoded with the prompt writes the prompt itself.

    A prompt of listed words sometimes makes Whisper write the prompt itself over speech
    that holds none of them (seen: "wog, cunt, fap, gangbang" over four seconds of clean
    speech), or loop over a few of them ("dick, ass, dick, ass, ..." for ten seconds). A
    segment echoes when at least _ECHO_WORDS of its words, and at least half of them, are
    prompt words; real speech that dense in listed words is rare.
    """
    words = [_bare(w.word) for w in segment.words or ()]
    hot = [w for w in words if w in hotwords]
    return len(hot) >= _ECHO_WORDS and 2 * len(hot) >= len(words)


def _unechoed(
    segments: Iterator[Any], hotwords: set[str], again: Callable[[float, float], Iterator[Any]]
) -> Iterator[Any]:
    """The segments, each one that echoes the prompt (``_echoes``) replaced by ``again``'s
    decoding of it without the prompt, which only loses the prompt's help there."""
    for segment in segments:
        if not _echoes(segment, hotwords):
            yield segment
            continue
        logger.info(
            "segment %.2f-%.2f s echoes the prompt (%s); decoding it again without it",
            segment.start,
            segment.end,
            " ".join(_bare(w.word) for w in segment.words or ())[:200],
        )
        yield from _in_window(again(float(segment.start), float(segment.end)), segment)


def _in_window(segments: Iterator[Any], original: Any) -> Iterator[Any]:
    """Segments decoded again from a clip of ``original``, marked as of its window: a clip's
    segments carry the clip's start as their seek, which _reseamed would take for a seam."""
    seek = getattr(original, "seek", None)
    for segment in segments:
        if seek is not None and dataclasses.is_dataclass(segment) and not isinstance(segment, type):
            segment = dataclasses.replace(segment, seek=seek)
        yield segment


def _reseamed(
    segments: Iterator[Any],
    again: Callable[[float, float], Iterator[Any]],
    *,
    seconds: float,
) -> Iterator[Any]:
    """The segments, with the words around each doubtful window seam heard again by
    ``again`` (see _SEAM_REACH)."""
    held: list[Any] = []  # the current window's segments, waiting for the next window
    for segment in segments:
        if held and segment.seek != held[0].seek:
            done, segment = _across(held, segment, again, seconds)
            yield from done
            held = []
        held.append(segment)
    yield from held


def _across(
    before: list[Any],
    after: Any,
    again: Callable[[float, float], Iterator[Any]],
    seconds: float,
) -> tuple[list[Any], Any]:
    """The held segments of one window and the first segment of the next, with their words
    around the seam between them replaced by a hearing of the seam itself when any of them
    is doubtful.

    Only a window that ran to the end of its 30 s of audio can have cut a word: one that
    Whisper ended sooner is followed by a window starting at its last timestamp, which
    hears the words after it whole (and so does the hotword-free pass after the first).
    """
    seam = after.seek * _FRAME_SECONDS
    if seam < before[0].seek * _FRAME_SECONDS + _WINDOW_SECONDS - _SEAM_REACH:
        return before, after
    lo, hi = seam - _SEAM_REACH, seam + _SEAM_REACH
    near = [w for s in before for w in s.words or () if _middle(w) >= lo]
    near += [w for w in after.words or () if _middle(w) <= hi]
    if not any(_doubtful(w) for w in near):
        return before, after
    heard = [
        w
        for s in again(max(0.0, seam - _SEAM_CONTEXT), min(seconds, seam + _SEAM_CONTEXT))
        for w in s.words or ()
        if lo <= _middle(w) <= hi
    ]
    logger.info(
        "window seam at %.2f s heard again: %r for %r",
        seam,
        " ".join(w.word.strip() for w in heard),
        " ".join(w.word.strip() for w in near),
    )
    done = [
        dataclasses.replace(s, words=[w for w in s.words or () if _middle(w) < lo]) for s in before
    ]
    if heard:
        done.append(
            dataclasses.replace(
                before[-1], start=float(heard[0].start), end=float(heard[-1].end), words=heard
            )
        )
    return done, dataclasses.replace(after, words=[w for w in after.words or () if _middle(w) > hi])


def _confirmed(
    segments: Iterator[Any],
    hotwords: set[str],
    again: Callable[[float, float], Iterator[Any]],
    *,
    seconds: float,
) -> Iterator[Any]:
    """The segments without the prompt's phantoms: each listed word less probable than
    _PHANTOM_PROBABILITY is kept only if ``again``, a decoding without the prompt around
    it, has a word at the same time that is not one of the prompted
    decoding's own (the same text at the same time, in this segment or the one before)."""
    previous: list[Any] = []
    for segment in segments:
        words = list(segment.words or ())
        doubted = [
            w
            for w in words
            if float(w.probability) < _PHANTOM_PROBABILITY and _listed(_bare(w.word), hotwords)
        ]
        if doubted:
            start = max(0.0, min(float(w.start) for w in doubted) - _PHANTOM_CONTEXT)
            end = min(seconds, max(float(w.end) for w in doubted) + _PHANTOM_CONTEXT)
            # A word of that decoding that is one of ours, at its time, is no witness.
            ours = [w for w in previous + words if w not in doubted]
            heard = [
                h
                for s in again(start, end)
                for h in s.words or ()
                if not any(_bare(h.word) == _bare(w.word) and _overlap(h, w) for w in ours)
            ]
            phantoms = [w for w in doubted if not any(_overlap(w, h) for h in heard)]
            if phantoms:
                logger.info(
                    "dropped %s: not heard there without the prompt (%r)",
                    ", ".join(f"{w.word.strip()!r} at {float(w.start):.2f} s" for w in phantoms),
                    " ".join(h.word.strip() for h in heard),
                )
                words = [w for w in words if w not in phantoms]
                segment = dataclasses.replace(segment, words=words)
        previous = words
        yield segment


def _listed(word: str, hotwords: set[str]) -> bool:
    """Whether a word is a hotword or starts with one (an inflection: "fucking")."""
    return word in hotwords or any(word.startswith(h) for h in hotwords if len(h) >= 3)


def _overlap(word: Any, other: Any) -> bool:
    """Whether either word's middle lies within the other."""
    return bool(
        float(other.start) <= _middle(word) <= float(other.end)
        or float(word.start) <= _middle(other) <= float(word.end)
    )


def _doubtful(word: Any) -> bool:
    """Whether a word near a seam may be a fragment of one cut by it."""
    return bool(
        float(word.probability) < _SEAM_PROBABILITY
        or float(word.end) - float(word.start) < _SEAM_SHORTEST
        or word.word.strip().endswith("-")
    )


def _middle(word: Any) -> float:
    return 0.5 * (float(word.start) + float(word.end))


@dataclass(frozen=True)
class _Stop:
    """Where a decoding pass stopped, and whether its last window reached the audio's end."""

    at: float
    saw_end: bool


def _until(
    segments: Iterator[Any], stop_after: float | None, seconds: float
) -> Generator[Any, None, _Stop | None]:
    """Yields the segments; with stop_after, stops after the first one that ends past it,
    before Whisper decodes another window, and says where the undecoded rest starts."""
    try:
        for segment in segments:
            yield segment
            if stop_after is not None and segment.end >= stop_after:
                # Segment.seek is the start of its 30 s window, in 10 ms feature frames.
                window_end = getattr(segment, "seek", 0) * _FRAME_SECONDS + _WINDOW_SECONDS
                return _Stop(at=float(segment.end), saw_end=window_end >= seconds)
    finally:
        close = getattr(segments, "close", None)
        if close is not None:
            close()
    return None


def _events(segments: Iterator[Any], meter: _Meter) -> Iterator[Event]:
    """Yields each segment's words and a Progress."""
    try:
        for segment in segments:
            for word in segment.words or ():
                text = word.word.strip()
                if text:
                    yield WordResult(
                        text=text,
                        start=meter.offset + float(word.start),
                        end=meter.offset + float(word.end),
                        probability=min(1.0, max(0.0, float(word.probability))),
                    )
            step = meter.at(float(segment.end))
            if step is not None:
                yield step
    finally:
        close = getattr(segments, "close", None)
        if close is not None:
            close()
