"""The censor job pipeline as a pure core: decode, transcribe, match, render, encode.

Transport comes in through the constructor arguments: a transcribe function and a progress
callback. Nothing here knows about NATS, gRPC or the blob store.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.censor import dsp
from services.censor.boundaries import refine_spans
from services.censor.matching import Match, Matcher, Token
from services.common import media
from services.common.errors import InvalidArgument
from services.common.wordlists import WordEntry

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

logger = logging.getLogger(__name__)

# (pcm mono 16 kHz, duration, hotwords) -> tokens and progress percentages, as they come.
Transcribe = Callable[[np.ndarray, float, Sequence[str]], AsyncIterator[Token | float]]
Progress = Callable[[str, float, str], Awaitable[None]]
# (samples (frames, channels), sample rate, amount 1..100) -> denoised samples, same shape.
Denoise = Callable[[np.ndarray, int, int], np.ndarray]


def hotword_order(entries: Sequence[WordEntry]) -> list[str]:
    """The list's single words in the order they are offered to Whisper: roots first.

    Whisper's prompt holds only the first few dozen words, so they are ordered by how many of
    the list's words and variations contain them ("fuck" stands in "fucking", "motherfucker",
    "clusterfuck" ...), then alphabetically. Measured on the accuracy benchmark's dev set: the
    alphabetical order cut the prompt before "damn", "fuck" and "shit", and Whisper wrote
    "chit", "thuck" and "cam" for them.
    """
    forms = [f.casefold() for e in entries for f in (e.word, *e.variations)]
    words = {e.word for e in entries if " " not in e.word}
    roots = {w: sum(w.casefold() in f for f in forms) for w in words}
    return sorted(words, key=lambda w: (-roots[w], w))


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
    verify: bool = True  # listen to each censored span again; widen those still heard
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


# Verification: how much audio around a span is transcribed again, how far a span still heard
# is widened each round (on each side), and how many rounds at most.
_VERIFY_CONTEXT = 0.1
_WIDEN_STEP = 0.06
_VERIFY_ROUNDS = 2
_HEARD_PROBABILITY = 0.5
_VERIFY_GAP = 0.3  # seconds of silence between the joined cuts
_SAMPLE_RATE = 16_000  # what the transcriber takes
# Matches Whisper gave less than this probability, or that run on with no more than
# _JOINED_GAP into or from a clean word it gave less, are heard again without hotwords,
# with this much audio around them; a longer word heard there with at least
# _SPLIT_PROBABILITY that holds the match means the prompt split it (see _split_words).
_RECHECK_PROBABILITY = 0.3
_RECHECK_CONTEXT = 3.0
_SPLIT_PROBABILITY = 0.1
# A match Whisper gave no more than this with the hotwords, or less than
# _RECHECK_PROBABILITY where the hearing without them wrote a word at least _LONGER_LETTERS
# longer, may be the prompt's word alone (see _plain_hearing).
_FORCED_PROBABILITY = 0.05
_LONGER_LETTERS = 2
_JOINED_GAP = 0.02
_EPSILON = 1e-6  # word times are sums of float seconds
# Words Whisper gave less than this that spell this close to a listed word are heard again
# with it as a hotword (see _near_misses).
_NEAR_PROBABILITY = 0.3
_NEAR_RATIO = 0.75
_NEAR_MIN_LETTERS = 3
# The opening is heard again after _OPENING_LEAD of silence when the audio sounds from its
# first _OPENING_HEAD (within _OPENING_SOUND_DB of its loud parts) and its first word matched
# nothing; _OPENING_CONTEXT of audio past that word goes with it (see _opening).
_OPENING_HEAD = 0.1
_OPENING_SOUND_DB = -30.0
_OPENING_LEAD = 1.0
_OPENING_CONTEXT = 3.0


async def _still_heard(
    rendered: np.ndarray,
    sample_rate: int,
    censored: Sequence[CensoredWord],
    request: CensorRequest,
    transcribe: Transcribe,
) -> set[int]:
    """Indices of the censored words a listed word is still heard in, after rendering.

    Every span, with a little audio around it, is cut out and the cuts are joined with
    silence between them, so one transcription pass listens to all of them. No hotwords are
    given (they would make Whisper write listed words into the silence); a listed word heard
    with confidence over a span means part of it is still audible.
    """
    duration = rendered.shape[0] / sample_rate
    pieces: list[np.ndarray] = []
    regions: list[tuple[float, float, float]] = []  # (start, end) in the joined audio, source lo
    position = 0
    gap = np.zeros(int(_VERIFY_GAP * _SAMPLE_RATE), np.float32)
    for word in censored:
        lo = max(0.0, word.refined.start - _VERIFY_CONTEXT)
        hi = min(duration, word.refined.end + _VERIFY_CONTEXT)
        window = rendered[int(lo * sample_rate) : int(hi * sample_rate)]
        mono = await asyncio.to_thread(media.to_mono_16k, window, sample_rate)
        regions.append((position / _SAMPLE_RATE, (position + mono.shape[0]) / _SAMPLE_RATE, lo))
        pieces += [mono, gap]
        position += mono.shape[0] + gap.shape[0]
    joined = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    tokens = [
        t async for t in transcribe(joined, position / _SAMPLE_RATE, ()) if isinstance(t, Token)
    ]
    matcher = Matcher(request.entries, request.min_severity, request.allow)
    heard: set[int] = set()
    for i, (word, (start, end, lo)) in enumerate(zip(censored, regions, strict=True)):
        inside = [
            Token(t.text, t.start - start + lo, t.end - start + lo, t.probability)
            for t in tokens
            if t.start < end and t.end > start
        ]
        for match in matcher.match(inside):
            confident = min(t.probability for t in inside[match.first : match.last + 1])
            overlaps = match.start < word.refined.end and match.end > word.refined.start
            if overlaps and confident >= _HEARD_PROBABILITY:
                heard.add(i)
    return heard


def _bare(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


async def _hear_again(
    mono: np.ndarray, start: float, end: float, hotwords: Sequence[str], transcribe: Transcribe
) -> list[Token]:
    """What Whisper hears in [start, end] with _RECHECK_CONTEXT of audio each side, in the
    source's times."""
    lo = max(0.0, start - _RECHECK_CONTEXT)
    hi = min(mono.shape[0] / _SAMPLE_RATE, end + _RECHECK_CONTEXT)
    window = mono[int(lo * _SAMPLE_RATE) : int(hi * _SAMPLE_RATE)]
    return [
        Token(t.text, t.start + lo, t.end + lo, t.probability)
        async for t in transcribe(window, hi - lo, hotwords)
        if isinstance(t, Token)
    ]


async def _split_words(
    mono: np.ndarray,
    words: Sequence[Token],
    matches: Sequence[Match],
    plain: Sequence[Token],
    matcher: Matcher,
    transcribe: Transcribe,
) -> set[int]:
    """Indices of the matches that are a clean word the prompt made Whisper split.

    With listed words in its prompt Whisper sometimes cuts a longer word so that its first
    part reads as one of them ("cock that door" for "cockpit door", "ass" for "assassin"),
    sure of the listed part and unsure of the rest ("cock bitlights" for "cockpit lights"),
    or so that its last part does, unsure of the start ("hang cock" for "Hancock"). A match
    is dropped when a hearing without hotwords matches no listed word there and writes,
    with some confidence, one longer word that starts with the matched text, or, where a
    clean word runs on into the match, one that ends with it. The hearing of the whole
    audio without hotwords (``plain``) is asked for every match that Whisper was unsure of
    or that runs on with no gap into or from a clean word; where it shows no split, a
    match Whisper was unsure of, or whose joined clean neighbour it was unsure of, is heard
    again, with 3 s of audio each side and no hotwords.
    """
    matched = _matched(matches)

    def split(
        match: Match, heard: Sequence[Token], listed: Sequence[Match], cut_before: bool
    ) -> bool:
        if any(_overlap(m, match) for m in listed):
            return False
        text = _bare(match.text)
        longer = [
            _bare(t.text)
            for t in heard
            if _overlap(t, match) and t.probability >= _SPLIT_PROBABILITY
        ]
        return any(
            word != text and (word.startswith(text) or (cut_before and word.endswith(text)))
            for word in longer
        )

    plain_matches = matcher.match(plain)
    dropped: set[int] = set()
    for i, match in enumerate(matches):
        unsure = min(t.probability for t in words[match.first : match.last + 1])
        before, after = match.first - 1, match.last + 1
        into = _clean_joined(words, matched, match, after)
        off = _clean_joined(words, matched, match, before)
        # The hearing without hotwords is there already: every match that runs on into or
        # from a clean word is checked against it ("dick insonetite" for "Dickinson", sure
        # of "dick"), not only the unsure ones.
        checked = unsure < _RECHECK_PROBABILITY or into or off
        if checked and split(match, plain, plain_matches, off):
            dropped.add(i)
            continue
        cut_after = into and words[after].probability < _RECHECK_PROBABILITY
        cut_before = off and words[before].probability < _RECHECK_PROBABILITY
        if unsure >= _RECHECK_PROBABILITY and not (cut_after or cut_before):
            continue
        heard = await _hear_again(mono, match.start, match.end, (), transcribe)
        logger.debug(
            "re-heard %r as %s",
            match.text,
            [(t.text, round(t.probability, 2)) for t in heard if t.end > match.start],
        )
        if split(match, heard, matcher.match(heard), cut_before):
            dropped.add(i)
    return dropped


def _similarity(a: str, b: str) -> float:
    """How close two words spell, from 0 to 1 (difflib's ratio of their bare letters)."""
    return difflib.SequenceMatcher(None, _bare(a), _bare(b)).ratio()


def _overlap(a: Token | Match, b: Token | Match) -> bool:
    return a.start < b.end and a.end > b.start


def _joined(end: float, start: float) -> bool:
    """Whether a word starting at ``start`` runs on with no gap from one ending at ``end``."""
    return start - end <= _JOINED_GAP + _EPSILON


def _matched(matches: Sequence[Match]) -> set[int]:
    """The indices of the words the matches cover."""
    return {k for m in matches for k in range(m.first, m.last + 1)}


def _clean_joined(words: Sequence[Token], matched: set[int], match: Match, k: int) -> bool:
    """Whether word ``k`` is a clean word (not in ``matched``) that runs on with no gap into
    or from the match."""
    if not 0 <= k < len(words) or k in matched:
        return False
    word = words[k]
    return _joined(word.end, match.start) if k < match.first else _joined(match.end, word.start)


async def _cut_short(
    mono: np.ndarray,
    words: list[Token],
    matches: Sequence[Match],
    entries: Sequence[WordEntry],
    matcher: Matcher,
    transcribe: Transcribe,
) -> list[Token]:
    """The words, with each match that Whisper may have cut short heard again.

    Whisper sometimes writes a listed word and another word for the rest of a longer listed
    one ("shit, where" for "Shithead"), unsure of that other word. Each match that runs on
    with no gap into a clean word Whisper gave less than _RECHECK_PROBABILITY is heard again,
    with 3 s of audio each side and, as hotwords, the list's single-word forms that start
    with the match and are longer. Where that hearing matches a listed word from the match
    on over the middle of the clean word, its tokens and what it heard in the rest of the
    clean word's span take the place of the two. (Run after the split-word check, so a
    clean word the prompt split is not heard as a longer listed one.)
    """
    forms = _sound_alikes(entries)
    matched = _matched(matches)
    out = list(words)
    for match in matches:
        after = match.last + 1
        if (
            not _clean_joined(words, matched, match, after)
            or words[after].probability >= _RECHECK_PROBABILITY
        ):
            continue
        text = _bare(match.text)
        longer = [f for f in forms if f.startswith(text) and f != text]
        if not longer:
            continue
        rest = words[after]
        heard = await _hear_again(mono, match.start, rest.end, longer, transcribe)
        found = [
            m
            for m in matcher.match(heard)
            if m.start < match.end and m.end >= 0.5 * (rest.start + rest.end)
        ]
        logger.debug("%r %r heard again as %s", match.text, rest.text, [m.text for m in found])
        if not found:
            continue
        # The longer word and what that hearing heard in the rest of the clean word's span
        # (Whisper gives a word the pause after it: "where" over 0.2-0.56 s) take the place
        # of the match and the clean word.
        longest = found[0]
        tokens = heard[longest.first : longest.last + 1] + [
            t for t in heard[longest.last + 1 :] if 0.5 * (t.start + t.end) <= rest.end
        ]
        lo, hi = min(longest.start, match.start), max(rest.end, tokens[-1].end)
        out = _replaced(out, [(lo, hi, tokens)])
    return out


def _sound_alikes(entries: Sequence[WordEntry]) -> list[str]:
    """The list's single-word spellings a near-homophone is compared with."""
    forms = {_bare(f) for e in entries for f in (e.word, *e.variations) if " " not in f}
    return sorted(f for f in forms if len(f) >= _NEAR_MIN_LETTERS and f.isalpha())


async def _near_misses(
    mono: np.ndarray,
    words: list[Token],
    matched: set[int],
    entries: Sequence[WordEntry],
    matcher: Matcher,
    transcribe: Transcribe,
) -> list[Token]:
    """The words, with each unsure near-homophone of a listed word heard again.

    Whisper base writes "buck" for "fuck" and "vucking" for "fucking", unsure of them. Each
    word it gave less than _NEAR_PROBABILITY that spells close to a listed word (a
    similarity ratio of at least _NEAR_RATIO) and matched nothing is decoded again, with
    3 s of audio each side and only those close words as hotwords. Where that hearing
    matches a listed word over it, its tokens take the place of the words they cover.
    """
    forms = _sound_alikes(entries)
    out = list(words)
    for k, word in enumerate(words):
        if k in matched or word.probability >= _NEAR_PROBABILITY:
            continue
        text = _bare(word.text)
        if len(text) < _NEAR_MIN_LETTERS:
            continue
        close = [f for f in forms if _similarity(text, f) >= _NEAR_RATIO]
        if not close:
            continue
        heard = await _hear_again(mono, word.start, word.end, close, transcribe)
        found = [m for m in matcher.match(heard) if _overlap(m, word)]
        logger.debug("near-homophone %r heard again as %s", word.text, [m.text for m in found])
        if not found:
            continue
        out = _in_place([t for t in out if t != word], found[:1], heard)
    return out


def _sounds_at_start(mono: np.ndarray) -> bool:
    """Whether the audio's first _OPENING_HEAD holds sound within _OPENING_SOUND_DB of its
    loud parts (the 95th percentile of its 20 ms frame levels)."""
    frame = int(0.02 * _SAMPLE_RATE)
    n = mono.shape[0] // frame
    if n == 0:
        return False
    levels = np.sqrt(np.mean(mono[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = float(np.percentile(levels, 95))
    head = mono[: int(_OPENING_HEAD * _SAMPLE_RATE)]
    return loud > 0.0 and dsp.rms_db(head) >= 20 * math.log10(loud) + _OPENING_SOUND_DB


async def _opening(
    mono: np.ndarray,
    words: list[Token],
    matches: Sequence[Match],
    hotwords: Sequence[str],
    matcher: Matcher,
    transcribe: Transcribe,
) -> list[Token]:
    """The words, with the listed words of the opening heard again after silence.

    Whisper hears a word at the audio's very first sample badly, often not at all ("bug,"
    for "Fuck" from a clip's first sample). When the audio sounds from its start and its
    first word matched nothing, the opening up to _OPENING_CONTEXT past that word is
    transcribed again after _OPENING_LEAD of silence, with the hotwords; a match of that
    hearing that lies before or over the first word takes the place of the words it covers.
    """
    if not words or not hotwords or any(m.first == 0 for m in matches):
        return words
    if not _sounds_at_start(mono):
        return words
    head = words[0]
    end = min(mono.shape[0] / _SAMPLE_RATE, head.end + _OPENING_CONTEXT)
    lead = np.zeros(int(_OPENING_LEAD * _SAMPLE_RATE), dtype=np.float32)
    padded = np.concatenate([lead, mono[: int(end * _SAMPLE_RATE)]])
    heard = [
        Token(t.text, max(0.0, t.start - _OPENING_LEAD), t.end - _OPENING_LEAD, t.probability)
        async for t in transcribe(padded, padded.shape[0] / _SAMPLE_RATE, hotwords)
        if isinstance(t, Token) and t.end > _OPENING_LEAD
    ]
    found = [m for m in matcher.match(heard) if 0.5 * (m.start + m.end) < head.end]
    logger.debug("opening heard again as %s", [(t.text, round(t.start, 2)) for t in heard[:4]])
    if not found:
        return words
    logger.info(
        "opening heard again after silence: %s before %r", [m.text for m in found], head.text
    )
    return _in_place(words, found, heard)


async def _plain_hearing(
    mono: np.ndarray,
    duration: float,
    words: list[Token],
    matcher: Matcher,
    transcribe: Transcribe,
    progress: Progress,
) -> tuple[list[Token], list[Token]]:
    """The words, corrected by a hearing without hotwords, and that hearing's words.

    The hotwords make Whisper write listed words it would otherwise miss, but now and then
    they make it write another word for one it hears plainly without them ("task hole" and
    "prayer" for "asshole" and "crap", which it writes with no prompt). So the whole audio is
    transcribed once more with no hotwords, and each match of that transcript that overlaps
    no match of the first takes the place of the words whose middle it covers.

    The other way round, a one-word match of the first that Whisper gave at most
    _FORCED_PROBABILITY is the prompt's word, not the speaker's, where this hearing matches
    nothing over it and is at least _RECHECK_PROBABILITY sure of the one word over its
    middle ("shit arcade", 0.03, for "shiitake", heard "sheet arcade" with 0.45): that word
    takes its place. (A listed word at a file's first sample gets as little, but there this
    hearing hears a listed word too, or is unsure of what it hears.) So does a longer word,
    by _LONGER_LETTERS or more, over a match Whisper was unsure of (under
    _RECHECK_PROBABILITY): the prompt carved the listed word out of it ("arse", 0.11, for
    "harass", heard "harass" with 0.49). Not where that word spells close to the match (a
    near-homophone, "Baster" for "bastard"): that may be the listed word misheard.
    """
    plain: list[Token] = []
    async for item in transcribe(mono, duration, ()):
        if isinstance(item, Token):
            plain.append(item)
        else:
            await progress("transcription", 50.0 + 0.5 * float(item), "Hearing it again...")
    matches = matcher.match(words)
    heard = matcher.match(plain)
    found = [m for m in heard if not any(_overlap(m, other) for other in matches)]
    pieces = [(m.start, m.end, plain[m.first : m.last + 1]) for m in found]
    for match in matches:
        # One word: a phrase with one unsure word in it ("son of a bitch") is left alone.
        unsure = words[match.first].probability
        if match.first != match.last or unsure >= _RECHECK_PROBABILITY:
            continue
        if any(_overlap(m, match) for m in heard):
            continue
        middle = 0.5 * (match.start + match.end)
        over = [t for t in plain if t.start <= middle <= t.end]
        if len(over) != 1 or over[0].probability < _RECHECK_PROBABILITY:
            continue
        word = over[0]
        if not _bare(word.text):
            continue  # punctuation alone: no other word was heard there
        longer = len(_bare(word.text)) >= len(_bare(match.text)) + _LONGER_LETTERS
        near = _similarity(word.text, match.text) >= _NEAR_RATIO
        if (unsure <= _FORCED_PROBABILITY or longer) and not near:
            logger.info("%r only the prompt heard: %r without it", match.text, word.text)
            pieces.append((match.start, match.end, [word]))
    if not pieces:
        return words, plain
    if found:
        logger.info("heard without hotwords: %s", [(m.text, round(m.start, 2)) for m in found])
    return _replaced(words, pieces), plain


def _in_place(words: Sequence[Token], found: Sequence[Match], heard: list[Token]) -> list[Token]:
    """The words, with the tokens of each match of ``heard`` in ``found`` in place of the
    words whose middle it covers."""
    return _replaced(words, [(m.start, m.end, heard[m.first : m.last + 1]) for m in found])


def _replaced(
    words: Sequence[Token], pieces: Sequence[tuple[float, float, Sequence[Token]]]
) -> list[Token]:
    """The words, with the tokens of each (start, end, tokens) piece in place of the words
    whose middle lies in [start, end], in time order."""
    tokens = [t for _, _, piece in pieces for t in piece]
    keep = [
        w for w in words if not any(lo <= 0.5 * (w.start + w.end) <= hi for lo, hi, _ in pieces)
    ]
    return sorted(keep + tokens, key=lambda t: (t.start, t.end))


def _widen(word: CensoredWord, duration: float) -> CensoredWord:
    span = dsp.Span(
        max(0.0, word.refined.start - _WIDEN_STEP), min(duration, word.refined.end + _WIDEN_STEP)
    )
    return CensoredWord(word.match, word.whisper, span, widened=True)


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
        # With hotwords, the first hearing is half the stage and the plain one the rest.
        share = 0.5 if hotwords else 1.0
        async for item in transcribe(mono, audio.duration, hotwords):
            if isinstance(item, Token):
                words.append(item)
            else:
                await progress("transcription", share * float(item), "Transcribing audio...")
        matcher = Matcher(request.entries, request.min_severity, request.allow)
        plain: list[Token] = []
        if hotwords:
            words, plain = await _plain_hearing(
                mono, audio.duration, words, matcher, transcribe, progress
            )
        await progress("transcription", 100.0, f"Transcribed {len(words)} words")

        await progress("matching", 0.0, "Matching words against the list...")
        matches = matcher.match(words)
        matched = _matched(matches)
        words = await _near_misses(mono, words, matched, request.entries, matcher, transcribe)
        matches = matcher.match(words)
        words = await _opening(mono, words, matches, hotwords, matcher, transcribe)
        matches = matcher.match(words)
        split = await _split_words(mono, words, matches, plain, matcher, transcribe)
        dropped = {(m.start, m.end) for i, m in enumerate(matches) if i in split}
        matches = [m for i, m in enumerate(matches) if i not in split]
        words = await _cut_short(mono, words, matches, request.entries, matcher, transcribe)
        matches = [m for m in matcher.match(words) if (m.start, m.end) not in dropped]
        detected = len(Matcher(request.entries, "low", request.allow).match(words)) - len(split)
        # Whisper's word times are estimates (ends come early): each span's edges are
        # found again in the audio, within bounded margins (see boundaries.refine_spans).
        refined = await asyncio.to_thread(refine_spans, mono, words, matches)
        censored = [
            CensoredWord(
                match=r.match,
                whisper=dsp.Span(r.whisper_start, r.whisper_end),
                refined=dsp.Span(max(0.0, r.start), min(audio.duration, r.end)),
            )
            for r in refined
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

    if request.verify and censored:
        await progress("verification", 0.0, "Checking that no censored word can be heard...")
        for _ in range(_VERIFY_ROUNDS):
            # Checked on silence whatever the method: Whisper, trained on bleeped TV, writes
            # the word a beep stands for, and with more context it guesses the word from
            # its neighbours. Only what is left of the word itself should count.
            check = await asyncio.to_thread(
                dsp.render, samples, audio.sample_rate, spans, "silence"
            )
            heard = await _still_heard(check, audio.sample_rate, censored, request, transcribe)
            if not heard:
                break
            censored = [
                _widen(c, audio.duration) if i in heard else c for i, c in enumerate(censored)
            ]
            spans = dsp.merge_spans([c.refined for c in censored], duration=audio.duration)
            rendered = await asyncio.to_thread(
                dsp.render, samples, audio.sample_rate, spans, request.method
            )
        widened = sum(c.widened for c in censored)
        await progress("verification", 100.0, f"Verified; {widened} spans widened")

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
