"""Censor accuracy on speech with exact ground truth: our pipeline beside the classic approach.

Builds a set of short files whose explicit, trap and clean words lie at known times: piper
pieces joined with short gaps, and continuous espeak-ng speech whose word boundaries come from
libespeak-ng's word events. Some files carry background noise or a synthesized music bed, and
the set covers mp3, wav, flac, m4a and ogg. Then, in one run on the same files:

- the classic approach: Whisper word times with no hotwords, an exact match of the list's words
  (no variations or inflections), 50 ms of padding on each side, muted;
- our pipeline: ``run_censor`` with the seeded default list and the ``silence`` method.

Each output is decoded and judged against the ground truth in 20 ms frames: strict recall, the
audible leak per explicit word, the share of clean-speech frames damaged and the trap words
damaged. Writes ``benchmarks/results/censor_accuracy.json`` and ``.md``, overwriting the last run.
Two more sets in the same style run the same way: ``--set dev``, used for tuning, and
``--set holdout``, held out (``censor_accuracy-dev.*`` and ``censor_accuracy-holdout.*``).

    python -m benchmarks.censor_accuracy [--set main|dev|holdout]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import ctypes
import ctypes.util
import datetime
import json
import logging
import multiprocessing
import os
import re
import statistics
import string
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.censor_stages import in_process_transcribe, load_seed_entries
from services.censor import dsp
from services.censor.matching import Token
from services.censor.pipeline import CensorRequest, CensorResult, run_censor
from services.common import media
from services.common.wordlists import WordEntry
from services.transcriber.core import Transcriber, WordResult
from services.transcriber.server import create_transcriber
from services.transcriber.settings import TranscriberSettings

__all__ = [
    "APPROACHES",
    "CLIPS",
    "DEV_CLIPS",
    "HOLDOUT_CLIPS",
    "SETS",
    "FRAME_SECONDS",
    "Built",
    "Clip",
    "Espeak",
    "synthesize_alone",
    "ExplicitScore",
    "FileScore",
    "Item",
    "Segment",
    "SpeechEvent",
    "WordSpan",
    "build_set",
    "classic_spans",
    "classic_words",
    "damaged_frames",
    "describe_explicit",
    "espeak_items",
    "espeak_words",
    "estimate_lag",
    "event_sample",
    "inaudible_frames",
    "level_db",
    "main",
    "markdown_report",
    "music_bed",
    "parse_script",
    "pink_noise",
    "piper_pieces",
    "score_file",
    "summarize",
    "trim_to_sound",
    "word_frames",
    "word_spans",
]

logger = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RATE = 22_050  # piper's rate and espeak-ng's

# Judging, in 20 ms frames of the decoded input and output. An explicit frame is inaudible
# when the output is at least _INAUDIBLE_DB below the input there, or below _FLOOR_DBFS; a
# word is caught when _STRICT_SHARE of its frames are. A clean frame louder than the floor is
# damaged when the output lost more than _DAMAGE_DB there: the silence method only takes
# energy away, and re-encoding alone moves a frame's level by well under that (see the
# "untouched" reference row).
FRAME_SECONDS = 0.02
_INAUDIBLE_DB = 30.0
_FLOOR_DBFS = -55.0  # 35 dB under the speech's average level
_DAMAGE_DB = 3.0
_STRICT_SHARE = 0.9
# Frames of a word are judged where its speech, alone, is at most this far below the speech's
# average level (_SPEECH_DBFS): quieter parts are inaudible under noise or music anyway.
_SPEECH_FLOOR_DB = 30.0
_NEAR_SECONDS = 0.1  # clean frames this close to an explicit word are also counted apart

_CLASSIC_PAD = 0.05
_PIPER_GAP = 0.1
_PIPER_LEAD = 0.0  # no silence before the first piece: explicit words at the very start
_ESPEAK_WPM = 165
# Samples quieter than this are silence when a word's edges are trimmed; the same threshold
# tests/support/speech.py trims piper's pieces with.
_SOUND = 0.003
# Levels: speech at -20 dBFS RMS over its words, noise 12 dB and music 10 dB below it.
_SPEECH_DBFS = -20.0
_NOISE_SNR_DB = 12.0
_MUSIC_SNR_DB = 10.0
_PEAK = 0.95
_MAX_LAG_SECONDS = 0.2

KINDS = ("explicit", "trap", "clean")
POSITIONS = ("start", "middle", "end")
CONDITIONS = ("clean", "noise", "music")
SOURCES = ("piper", "espeak")
FORMATS = ("mp3", "wav", "flac", "m4a", "ogg")


@dataclass(frozen=True)
class Clip:
    """One file of the set: its speech source, format, background and marked text.

    In ``text``, ``[...]`` marks an explicit word or phrase and ``{...}`` a trap word, a clean
    word that only looks like a listed one; everything else is clean speech.
    """

    name: str
    source: str  # "piper" or "espeak"
    fmt: str
    condition: str  # "clean", "noise" or "music"
    text: str
    voice: str = ""  # espeak-ng voice


CLIPS: tuple[Clip, ...] = (
    Clip(
        "p1",
        "piper",
        "mp3",
        "clean",
        "[Fuck] this traffic, we are going to be late again. The {assassin} waited in the hall "
        "for an hour. That [motherfucker] took my parking spot this morning. We read {Dickens} "
        "in English {class} last year. This is [fucking] [bullshit] and you know it. "
        "Well, [son of a bitch]",
    ),
    Clip(
        "p2",
        "piper",
        "wav",
        "noise",
        "[Shit], I forgot the {document} on the train. He [fucked] up the whole {bass} line "
        "again. {He'll} be here at six, and {we'll} eat at seven. What the [hell] is that noise "
        "outside? My neighbour is a real [jackass] about the fence. Stop being such a [dumbass]",
    ),
    Clip(
        "p3",
        "piper",
        "flac",
        "music",
        "The {therapist} said it would take some time. Get your [shit] together, you lazy "
        "[bastard]. She found a {shell} on the beach and made a {cocktail} at sunset. I am so "
        "[pissed] off at them right now. They moved to {Scunthorpe} last spring. Oh, [goddamn]",
    ),
    Clip(
        "p4",
        "piper",
        "m4a",
        "clean",
        "[Bitch], please, you are not serious. This [fuckin'] car will not start again. That "
        "[asshole] cut me off on the highway. The {class} trip to the {bass} fishing lake was "
        "fun. [Holy shit], look at the size of that dog. The {therapist} works near the "
        "station. You [fucking] [dickhead]",
    ),
    Clip(
        "p5",
        "piper",
        "ogg",
        "noise",
        "[Damn], this coffee is really good. {We'll} see what the {document} says about it. Who "
        "the [fuck] ate my sandwich? That [crappy] old printer jammed again. The {assassin} in "
        "the film was quite slow. What a [motherfucking] mess. I read {Dickens} on the bus. "
        "[Bullshit]",
    ),
    Clip(
        "p6",
        "piper",
        "mp3",
        "music",
        "Our {class} went to {Scunthorpe} on a rainy day. [Fucking] [hell], the bus broke down "
        "twice. {He'll} fix the {shell} of the old boat. That lying [bastard] sold me a broken "
        "bike. Order me a {cocktail} and stop talking [shit]. She is such a [bitch]",
    ),
    Clip(
        "e1",
        "espeak",
        "mp3",
        "noise",
        "[Fuck] me, that was close. The {assassin} hid behind the door until the {class} was "
        "over. This [fucking] [bullshit] has to stop right now. He said the {document} was left "
        "in the car. {He'll} call you back later today. Oh, [son of a bitch].",
        voice="en-us",
    ),
    Clip(
        "e2",
        "espeak",
        "wav",
        "music",
        "[Shit], the {bass} player is late again. My [motherfucking] phone died in the middle "
        "of the call. We visited {Scunthorpe} and read some {Dickens} on the train. You are a "
        "lying [bastard] and a [jackass]. {We'll} see about that. Get out of here, you "
        "[dumbass].",
        voice="en-us+f3",
    ),
    Clip(
        "e3",
        "espeak",
        "ogg",
        "clean",
        "The {therapist} told me to relax. What the [hell] were you thinking? That [asshole] "
        "took my seat on the bus. She made a {cocktail} with a little {shell} on the glass. I "
        "am so [pissed] off about the rent. [Holy shit], it is snowing. Stop talking, you "
        "[fucking] [dickhead].",
        voice="en-us",
    ),
    Clip(
        "e4",
        "espeak",
        "flac",
        "noise",
        "[Damn], the {document} is missing again. He [fucked] up the whole plan, and {we'll} "
        "pay for it. The {bass} in this song is [fuckin'] loud. I do not give a [fuck] what "
        "they think. The {assassin} escaped through the window. That [crappy] car is a piece "
        "of [crap].",
        voice="en-us+f3",
    ),
    Clip(
        "e5",
        "espeak",
        "m4a",
        "music",
        "[Bitch], please. {He'll} never learn. Our {class} watched a film about {Dickens} and "
        "his books. That [motherfucker] stole my bike. This [goddamn] printer never works. The "
        "{therapist} left a {shell} on the desk. What a load of [bullshit].",
        voice="en-us",
    ),
    Clip(
        "e6",
        "espeak",
        "wav",
        "clean",
        "[Motherfucker], that hurt. I found a {shell} in the {cocktail} glass. This [shitty] "
        "weather ruins every weekend. We drove through {Scunthorpe} in the rain. Those "
        "[assholes] never paid me back. {We'll} see them in court. Enough of this [shit].",
        voice="en-us+f3",
    ),
)


DEV_CLIPS: tuple[Clip, ...] = (
    Clip(
        "dp1",
        "piper",
        "ogg",
        "clean",
        "[Crap], the {scrap} yard closed early. My {analyst} said the market is [fucked] this "
        "week. Put the {peacock} feather in the {glass} jar. You stupid [prick], that was my "
        "foot. We had {shiitake} soup in {Sussex}. What a [shitshow]",
    ),
    Clip(
        "dp2",
        "piper",
        "mp3",
        "noise",
        "[Bollocks], the kettle is broken again. The {cockpit} door was locked from the inside. "
        "Tell that [wanker] to move his van. {Hancock} signed the {passage} with a flourish. "
        "[Goddamn] it, I lost my keys. Do not be such a [douchebag]",
    ),
    Clip(
        "dp3",
        "piper",
        "wav",
        "music",
        "[Motherfucking] rain, all week long. The {classic} film starts at nine. I stepped in "
        "dog [shit] on the way home. {Hello}, is anyone there? That [bitch] took my chair. The "
        "{grass} is greener in {Essex}. [Fuck] off",
    ),
    Clip(
        "dp4",
        "piper",
        "flac",
        "noise",
        "[Asshole], you scratched my car. We ate {shellfish} by the harbour. Stop acting like a "
        "[dickhead] at dinner. The {mass} of the planet is huge. [Bullshit], he never said that. "
        "I {assume} you are coming. Go to [hell]",
    ),
    Clip(
        "dp5",
        "piper",
        "m4a",
        "music",
        "[Shithead], where were you last night? The {butterscotch} pudding was sweet. He is a "
        "[fucking] liar and a cheat. The {cocktail} bar opens at noon. [Damn] it, the train "
        "is late. You [bastard]",
    ),
    Clip(
        "dp6",
        "piper",
        "mp3",
        "clean",
        "[Piss] off, I am busy. The {passage} to the {cockpit} was narrow. She shouted [shit] "
        "[shit] [shit] at the screen. Our {analyst} loves {Dickens}. What a [jackass] move that "
        "was. [Son of a bitch]",
    ),
    Clip(
        "de1",
        "espeak",
        "wav",
        "clean",
        "[Fuck], I missed the bus again. The {peacock} walked across the {grass} slowly. Your "
        "[shitty] excuses are getting old. We bought {shiitake} at the market. That "
        "[motherfucker] never pays. What a load of [crap].",
        voice="en-gb-x-rp",
    ),
    Clip(
        "de2",
        "espeak",
        "m4a",
        "noise",
        "[Damn], that is cold. The {scrap} metal went to {Essex} by truck. Stop being a "
        "[dumbass] about it. {Hello} again, my friend. He [fucked] it up once more. You "
        "[bastard].",
        voice="en-us+m3",
    ),
    Clip(
        "de3",
        "espeak",
        "mp3",
        "music",
        "[Bullshit], nobody believes that. Our {classic} car needs new tyres. The [asshole] next "
        "door plays drums. I {assume} the {mass} was measured. Get your [fucking] hands off me. "
        "[Holy shit].",
        voice="en-gb-x-rp",
    ),
    Clip(
        "de4",
        "espeak",
        "flac",
        "clean",
        "[Shit], the milk went off. {Hancock} read the {passage} aloud. That [bitch] stole my "
        "parking space. The {cockpit} lights were flashing. I am [pissed] about the delay. Go "
        "to [hell].",
        voice="en-us+m3",
    ),
    Clip(
        "de5",
        "espeak",
        "ogg",
        "noise",
        "[Goddamn] traffic, every single day. The {analyst} wrote a short report. He is a "
        "[jackass] and a [prick]. We sailed past {Sussex} in the fog. This [crappy] phone keeps "
        "dying. [Fuck] me.",
        voice="en-us+f2",
    ),
    Clip(
        "de6",
        "espeak",
        "wav",
        "music",
        "[Dickhead], watch where you are going. The {butterscotch} sauce was too sweet. That "
        "[fuckin'] dog barked all night. We found {shellfish} on the rocks. Stop talking "
        "[bullshit]. You [son of a bitch].",
        voice="en-us+f2",
    ),
)
"""A second set in the same style, for tuning: other sentences, voices, trap words and
seeds. The reported set (``CLIPS``) is not tuned on."""


HOLDOUT_CLIPS: tuple[Clip, ...] = (
    Clip(
        "hp1",
        "piper",
        "m4a",
        "noise",
        "[Shit], the printer is out of paper. {Arsenal} won the match on Sunday. My brother "
        "is a total [dickhead] about money. We watched a {Hitchcock} film last night. Where "
        "the [fuck] are my glasses? She kept a {scrapbook} of the trip. [Goddamn it]",
    ),
    Clip(
        "hp2",
        "piper",
        "ogg",
        "clean",
        "[Bastard] stole my lunch again. The {cockroach} ran under the fridge. Quit [pissing] "
        "about and help me. We need to {assess} the damage first. That was a [fucking] "
        "disaster. Do not {harass} the neighbours. Go to [hell]",
    ),
    Clip(
        "hp3",
        "piper",
        "wav",
        "music",
        "Our {Dickinson} poems are due on Friday. That [motherfucker] scratched my door. The "
        "{witch} in the play was brilliant. Stop talking [crap] all the time. They toured "
        "{Buckingham} palace in June. What a [dumbass]",
    ),
    Clip(
        "hp4",
        "piper",
        "flac",
        "noise",
        "[Fucking] [hell], it is cold out here. Please do not {embarrass} me at dinner. You are a "
        "lazy [prick] and everyone knows it. The {cockroach} is back in the kitchen. [Holy "
        "shit], the dog can open doors. I read {Dickinson} on the train. [Bullshit]",
    ),
    Clip(
        "hp5",
        "piper",
        "mp3",
        "music",
        "[Asshole], you nearly hit me. I will {assess} the essays tonight. This [shitty] "
        "laptop crashed again. The {Arsenal} shirt is in the wash. He is a [wanker] and a "
        "liar. Mind the {witch} hat on the chair. You [son of a bitch]",
    ),
    Clip(
        "hp6",
        "piper",
        "m4a",
        "clean",
        "The {Hitchcock} season starts next week. [Damn], I left my keys inside. He [fucked] "
        "the whole thing up. We {harass} nobody here. Tell that [jackass] to leave. Our "
        "{scrapbook} has photos from Spain. [Bollocks]",
    ),
    Clip(
        "he1",
        "espeak",
        "ogg",
        "music",
        "[Fucker], you broke my phone. The {Arsenal} fans sang all night. This [goddamn] "
        "door is stuck again. I found a {cockroach} in the shed. Stop being such a "
        "[douchebag]. We toured {Buckingham} in the rain. [Shit].",
        voice="en-gb-scotland",
    ),
    Clip(
        "he2",
        "espeak",
        "flac",
        "clean",
        "[Bitch], do not touch my car. Please {assess} the plan before lunch. He is a "
        "[motherfucking] liar. Her {Hitchcock} poster hangs in the hall. You [dickhead], "
        "look where you are going. I read {Dickinson} at night. [Bullshit].",
        voice="en-us-nyc",
    ),
    Clip(
        "he3",
        "espeak",
        "mp3",
        "noise",
        "[Hell], that was a long day. The {witch} flew over the hill. That [asshole] parked in "
        "my space. Do not {embarrass} your sister. This [crappy] weather never stops. We keep a "
        "{scrapbook} of old letters. [Fuck] off.",
        voice="en-us+f4",
    ),
    Clip(
        "he4",
        "espeak",
        "wav",
        "music",
        "[Damn it], the bus is gone. Nobody should {harass} the staff. I am so [pissed] at him "
        "today. The {cockroach} hid behind the stove. He is a [fucking] idiot. We visited "
        "{Buckingham} last year. [Son of a bitch].",
        voice="en-gb-scotland",
    ),
    Clip(
        "he5",
        "espeak",
        "m4a",
        "clean",
        "[Crap], I forgot the tickets. The {Arsenal} game was on the radio. That [bastard] "
        "lied to me. My {Dickinson} book is overdue. Get your [shit] out of my room. They "
        "{assess} every claim. [Motherfucker].",
        voice="en-us-nyc",
    ),
    Clip(
        "he6",
        "espeak",
        "ogg",
        "noise",
        "[Jackass], you spilled my coffee. The {Hitchcock} film scared me. Stop [fucking] "
        "around, we are late. Do not {embarrass} the guests. What a [prick] he is. The "
        "{witch} costume is too small. [Holy shit].",
        voice="en-us+f4",
    ),
)
"""A third set, held out: other sentences, voices, trap words and seeds again, written
before any run on it and run once, with the code it reports on, to tell how the numbers
hold on audio nothing was tuned to."""

SETS = {"main": CLIPS, "dev": DEV_CLIPS, "holdout": HOLDOUT_CLIPS}
_SEEDS = ((0, CLIPS), (100, DEV_CLIPS), (200, HOLDOUT_CLIPS))  # noise and music seeds


# --- The script's ground truth -----------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A run of a clip's text, with its character offsets in the unmarked text."""

    kind: str  # one of KINDS
    text: str
    start: int
    end: int


_MARK = re.compile(r"\[([^\[\]{}]+)\]|\{([^\[\]{}]+)\}")


def parse_script(marked: str) -> tuple[str, list[Segment]]:
    """Removes the marks from a clip's text.

    Args:
        marked: text with ``[explicit]`` and ``{trap}`` marks.

    Returns:
        The plain text, and its segments in order: each mark is one segment, and the clean
        text between marks one more (whitespace and punctuation included).
    """
    plain: list[str] = []
    segments: list[Segment] = []
    position = 0

    def add(kind: str, text: str) -> None:
        nonlocal position
        if text:
            segments.append(Segment(kind, text, position, position + len(text)))
            plain.append(text)
            position += len(text)

    last = 0
    for mark in _MARK.finditer(marked):
        add("clean", marked[last : mark.start()])
        add("explicit" if mark.group(1) else "trap", mark.group(1) or mark.group(2))
        last = mark.end()
    add("clean", marked[last:])
    return "".join(plain), segments


def _spoken(text: str) -> bool:
    return any(c.isalnum() for c in text)


def piper_pieces(segments: Sequence[Segment]) -> list[Segment]:
    """The segments piper says one by one: edge punctuation off, silent ones dropped."""
    pieces = []
    for seg in segments:
        text = seg.text.strip(string.whitespace + ",;:")
        if _spoken(text):
            pieces.append(Segment(seg.kind, text, seg.start, seg.end))
    return pieces


def espeak_words(segments: Sequence[Segment]) -> list[Segment]:
    """The units espeak-ng's word events are gathered into: every clean word on its own, each
    explicit or trap segment whole."""
    words = []
    for seg in segments:
        if seg.kind != "clean":
            words.append(seg)
            continue
        for token in re.finditer(r"\S+", seg.text):
            if _spoken(token.group()):
                start = seg.start + token.start()
                words.append(Segment("clean", token.group(), start, start + len(token.group())))
    return words


@dataclass(frozen=True)
class Item:
    """A spoken unit of a built file and its exact span, seconds into the mix."""

    kind: str  # one of KINDS
    text: str
    start: float
    end: float
    # espeak only: whether each edge lies at a pause (exact) or runs into the next word, and
    # how far the word event and the word's first phoneme event lie apart there.
    edges: tuple[str, str] = ("pause", "pause")
    onset_spread: float = 0.0


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip(string.punctuation + " ")


def describe_explicit(items: Sequence[Item], listed: Iterable[str]) -> list[dict[str, Any]]:
    """Where each explicit item of a file lies and what form it takes.

    Args:
        items: the file's items in order.
        listed: the list's single words, normalized.

    Returns:
        One dict per explicit item: ``position`` (start, middle or end of the file), ``form``
        (listed: the list's own word; inflection: any other form; phrase: several words) and
        ``adjacent`` (another explicit item comes right before or after it).
    """
    words = set(listed)
    out = []
    for i, item in enumerate(items):
        if item.kind != "explicit":
            continue
        position = "start" if i == 0 else "end" if i == len(items) - 1 else "middle"
        norm = _norm(item.text)
        form = "phrase" if " " in norm else "listed" if norm in words else "inflection"
        adjacent = (i > 0 and items[i - 1].kind == "explicit") or (
            i + 1 < len(items) and items[i + 1].kind == "explicit"
        )
        out.append({"position": position, "form": form, "adjacent": adjacent})
    return out


# --- espeak-ng through its C library ----------------------------------------------------

_EVENT_WORD = 1
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
_EVENT_PHONEME = 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE = 1


class _EspeakEvent(ctypes.Structure):
    """espeak_EVENT from speak_lib.h; ``id`` is a union of an int, a pointer and char[8]."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent)
)


@dataclass(frozen=True)
class SpeechEvent:
    """One synthesis event as libespeak-ng reports it."""

    kind: int  # espeak_EVENT_TYPE: 1 word, 2 sentence, 5 end, 7 phoneme, ...
    text_position: int  # 1-based character index of the word in the text
    length: int  # characters in the word (word events)
    audio_position: int  # milliseconds into the audio
    sample: int  # the same position in samples (MarkerEvent computes both)


def event_sample(event: SpeechEvent, rate: int) -> int:
    """The sample an event lies at: espeak's own sample count when it agrees with the
    millisecond position (it is that position before rounding down), else the milliseconds."""
    from_ms = event.audio_position * rate / 1000
    if from_ms - 1 <= event.sample * 1.0 < from_ms + rate / 1000 + 1:
        return event.sample
    return round(from_ms)


@dataclass(frozen=True)
class WordSpan:
    """The audio between one word event and the next (or the end of the audio)."""

    char: int  # 0-based character index of the word in the text
    length: int
    start: int  # samples
    end: int
    first_phoneme: int  # sample of the word's first phoneme event; ``start`` if none


def word_spans(events: Sequence[SpeechEvent], n_samples: int, rate: int) -> list[WordSpan]:
    """Cuts an utterance at its word events.

    A word runs from its word event to the next word's, the last one to the end of the audio;
    the pauses this leaves inside a span are trimmed off later on the signal.

    Args:
        events: every event of one synthesis, in the order they came.
        n_samples: the length of the audio.
        rate: its sample rate.

    Returns:
        One span per word event, in time order.
    """
    # A word event with no characters follows some clauses' last word; it is no word.
    words = sorted(
        (e for e in events if e.kind == _EVENT_WORD and e.length > 0),
        key=lambda e: event_sample(e, rate),
    )
    phonemes = [e for e in events if e.kind == _EVENT_PHONEME]
    spans = []
    for i, word in enumerate(words):
        start = event_sample(word, rate)
        end = event_sample(words[i + 1], rate) if i + 1 < len(words) else n_samples
        first = next(
            (
                event_sample(p, rate)
                for p in phonemes
                if start <= event_sample(p, rate) < end
                and word.text_position <= p.text_position < word.text_position + word.length
            ),
            start,
        )
        spans.append(WordSpan(word.text_position - 1, word.length, start, max(start, end), first))
    return spans


def trim_to_sound(
    audio: np.ndarray, start: int, end: int, threshold: float = _SOUND
) -> tuple[int, int]:
    """The part of ``audio[start:end]`` from its first to its last sample louder than
    ``threshold``; ``(start, start)`` when nothing in it is."""
    loud = np.flatnonzero(np.abs(audio[start:end]) > threshold)
    if loud.size == 0:
        return start, start
    return start + int(loud[0]), start + int(loud[-1]) + 1


def espeak_items(
    words: Sequence[Segment], spans: Sequence[WordSpan], audio: np.ndarray, rate: int
) -> list[Item]:
    """Gives each unit the spans of the word events that fall in it, trimmed to its sound.

    espeak-ng sometimes says two words under one event ("in the"); a clean word with no event
    of its own then joins the clean word before it.

    Raises:
        ValueError: when an explicit or trap unit got no word event, or a clean one got none
            and follows an explicit or trap unit: its sound would be counted in that unit.
    """
    owned: list[list[WordSpan]] = [[] for _ in words]
    for span in spans:
        for i, word in enumerate(words):
            if word.start <= span.char < word.end:
                owned[i].append(span)
                break
    margin = round(0.005 * rate)  # a pause is at least this much silence

    def edge(at: int, before: bool) -> str:
        window = audio[max(0, at - margin) : at] if before else audio[at : at + margin]
        at_file_edge = at - margin < 0 if before else at + margin > len(audio)
        return "pause" if at_file_edge or bool(np.all(np.abs(window) <= _SOUND)) else "joined"

    items: list[Item] = []
    for word, parts in zip(words, owned, strict=True):
        if not parts:
            if word.kind != "clean" or not items or items[-1].kind != "clean":
                raise ValueError(f"espeak-ng reported no word event for {word.text!r}")
            last = items[-1]
            items[-1] = Item(
                last.kind,
                f"{last.text} {word.text}",
                last.start,
                last.end,
                last.edges,
                last.onset_spread,
            )
            continue
        lo, hi = min(p.start for p in parts), max(p.end for p in parts)
        start, end = trim_to_sound(audio, lo, hi)
        if end <= start:
            raise ValueError(f"espeak-ng's span for {word.text!r} holds no sound")
        first = min(p.first_phoneme for p in parts)
        spread = max(0, first - start) / rate if edge(start, True) == "joined" else 0.0
        items.append(
            Item(
                word.kind,
                word.text,
                start / rate,
                end / rate,
                edges=(edge(start, True), edge(end, False)),
                onset_spread=spread,
            )
        )
    return items


class Espeak:
    """espeak-ng's C library in synchronous mode, its audio and events gathered by callback."""

    def __init__(self, library: str | None = None) -> None:
        name = library or ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        self._lib = ctypes.CDLL(name)
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT
        )
        if self.rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({self.rate})")
        self._chunks: list[np.ndarray] = []
        self._events: list[SpeechEvent] = []
        self._callback = _Callback(self._collect)  # kept: the library holds a pointer to it
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != 0:  # espeakEVENT_LIST_TERMINATED
            e = events[i]
            self._events.append(
                SpeechEvent(e.type, e.text_position, e.length, e.audio_position, e.sample)
            )
            i += 1
        return 0

    def synthesize(
        self, text: str, voice: str, wpm: int = _ESPEAK_WPM
    ) -> tuple[np.ndarray, list[SpeechEvent]]:
        """Speaks ``text`` (ASCII, so character positions are byte positions) as one utterance.

        Returns:
            float32 mono audio at ``self.rate``, and every event of the synthesis.
        """
        if not text.isascii():
            raise ValueError("the scripts are ASCII, so event positions index the text")
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
        self._lib.espeak_SetParameter(_PARAM_RATE, wpm, 0)
        self._chunks, self._events = [], []
        data = text.encode()
        status = self._lib.espeak_Synth(
            data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed ({status})")
        self._lib.espeak_Synchronize()
        audio = np.concatenate(self._chunks).astype(np.float32) / 32768.0
        return audio, list(self._events)

    def version(self) -> str:
        self._lib.espeak_Info.restype = ctypes.c_char_p
        return str(self._lib.espeak_Info(None).decode())


def _synthesize_here(text: str, voice: str, wpm: int) -> tuple[np.ndarray, list[SpeechEvent], int]:
    espeak = Espeak()
    audio, events = espeak.synthesize(text, voice, wpm)
    return audio, events, espeak.rate


def synthesize_alone(
    text: str, voice: str, wpm: int = _ESPEAK_WPM
) -> tuple[np.ndarray, list[SpeechEvent], int]:
    """``Espeak.synthesize`` in a fresh process: the audio, the events and the rate.

    espeak-ng carries state from one utterance to the next in a process (the same text
    twice in a row came out 324134 and then 324355 samples long), and it hangs when
    terminated and initialized again, so a file's speech would depend on the files
    synthesized before it. In a process of its own it depends on its text and voice alone.
    """
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_synthesize_here, text, voice, wpm).result()


# --- Building the files ---------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """One file of the set before encoding: its mix at RATE and the truth about it."""

    clip: Clip
    audio: np.ndarray  # mono float32 at RATE: speech plus the background
    speech: np.ndarray  # the speech alone, at the level it has in ``audio``
    items: list[Item]


def _piper_items(clip: Clip) -> tuple[np.ndarray, list[Item]]:
    from tests.support.speech import build_track

    _, segments = parse_script(clip.text)
    pieces = piper_pieces(segments)
    track = build_track(
        [(p.text, p.kind == "explicit") for p in pieces], gap=_PIPER_GAP, lead=_PIPER_LEAD
    )
    explicit, clean = iter(track.explicit), iter(track.clean)
    items = []
    for piece in pieces:
        start, end = next(explicit) if piece.kind == "explicit" else next(clean)
        items.append(Item(piece.kind, piece.text, start, end))
    return track.audio, items


def _espeak_items(clip: Clip) -> tuple[np.ndarray, list[Item]]:
    plain, segments = parse_script(clip.text)
    audio, events, rate = synthesize_alone(plain, clip.voice)
    if rate != RATE:
        raise RuntimeError(f"espeak-ng speaks at {rate} Hz, not {RATE}")
    spans = word_spans(events, len(audio), rate)
    return audio, espeak_items(espeak_words(segments), spans, audio, rate)


def _speech_rms(audio: np.ndarray, items: Sequence[Item]) -> float:
    parts = [audio[round(i.start * RATE) : round(i.end * RATE)] for i in items]
    joined = np.concatenate(parts)
    return float(np.sqrt(np.mean(np.square(joined, dtype=np.float64))))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power falling as 1/f above 50 Hz and none below, unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    shape = np.zeros_like(freqs)
    shape[freqs >= 50] = 1 / np.sqrt(freqs[freqs >= 50])
    noise = np.fft.irfft(spectrum * shape, n)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def music_bed(n: int, rng: np.random.Generator) -> np.ndarray:
    """A synthesized backing track, unit RMS: a four-chord progression held as a soft pad, a
    bass note per chord and a plucked arpeggio in eighth notes at 120 bpm, from a random bar
    of the loop."""
    chords = ((48, 60, 64, 67), (45, 57, 60, 64), (41, 57, 60, 65), (43, 55, 59, 62))
    bar = 2.0  # seconds per chord
    t = np.arange(n) / RATE
    out = np.zeros(n)
    offset = int(rng.integers(0, 4))

    def tone(midi: int, start: float, length: float, decay: float, harmonics: int) -> None:
        lo, hi = int(start * RATE), min(n, int((start + length) * RATE))
        if lo >= n:
            return
        local = t[lo:hi] - start
        freq = 440.0 * 2 ** ((midi - 69) / 12)
        wave = sum(np.sin(2 * np.pi * k * freq * local) / k**1.5 for k in range(1, harmonics + 1))
        envelope = np.minimum(1.0, local / 0.01) * np.exp(-local / decay)
        out[lo:hi] += wave * envelope

    for b in range(int(np.ceil(n / RATE / bar))):
        chord = chords[(b + offset) % len(chords)]
        start = b * bar
        for note in chord[1:]:
            tone(note, start, bar, 1.5, 4)  # pad
        tone(chord[0] - 12, start, bar, 0.8, 6)  # bass
        for step in range(8):  # arpeggio, an octave up
            tone(chord[1 + step % 3] + 12, start + step * bar / 8, bar / 8, 0.12, 3)
    return (out / np.sqrt(np.mean(out**2))).astype(np.float32)


def _mix(
    audio: np.ndarray, items: Sequence[Item], condition: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Speech at _SPEECH_DBFS over its words, plus the condition's background, peak-limited;
    returns the mix and the speech alone at its level in the mix."""
    level = 10 ** (_SPEECH_DBFS / 20)
    speech = audio * (level / _speech_rms(audio, items))
    rng = np.random.default_rng(seed)
    mix = speech
    if condition == "noise":
        mix = speech + pink_noise(len(speech), rng) * level * 10 ** (-_NOISE_SNR_DB / 20)
    elif condition == "music":
        mix = speech + music_bed(len(speech), rng) * level * 10 ** (-_MUSIC_SNR_DB / 20)
    scale = min(1.0, _PEAK / float(np.max(np.abs(mix))))
    return (mix * scale).astype(np.float32), (speech * scale).astype(np.float32)


def build_set(clips: Sequence[Clip], espeak: Espeak | None) -> list[Built]:
    """Synthesizes and mixes every clip; espeak clips are left out without espeak-ng."""
    built = []
    for clip in clips:
        seed = next(base + c.index(clip) for base, c in _SEEDS if clip in c)
        if clip.source == "espeak":
            if espeak is None:
                continue
            audio, items = _espeak_items(clip)
        else:
            audio, items = _piper_items(clip)
        mix, speech = _mix(audio, items, clip.condition, seed)
        built.append(Built(clip, mix, speech, items))
    return built


# --- Aligning what was decoded with the truth -------------------------------------------


def estimate_lag(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> int:
    """How many samples later ``reference`` shows up in ``decoded`` (both mono, one rate).

    A codec that keeps its priming samples (AAC in MP4 without an edit list) delays the
    decoded audio; the truth moves with it.
    """
    n = min(len(reference), len(decoded))
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(
        np.fft.rfft(decoded[:n], size) * np.conj(np.fft.rfft(reference[:n], size)), size
    )
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    return int(lags[np.argmax(corr[lags])])


# --- Judging the output ---------------------------------------------------------------------


def word_frames(start: float, end: float, rate: int) -> list[tuple[int, int]]:
    """20 ms frames tiling [start, end) from its start, as sample ranges.

    The last frame ends at ``end``: shorter than 20 ms, or up to 10 ms longer rather than
    leave a sliver. Anchored on the word, so muting exactly its span leaves none of its frames
    with sound from outside it.
    """
    first, last = max(0, round(start * rate)), round(end * rate)
    hop = round(FRAME_SECONDS * rate)
    frames = [(i, min(i + hop, last)) for i in range(first, last, hop)]
    if len(frames) > 1 and frames[-1][1] - frames[-1][0] < hop // 2:
        frames[-2:] = [(frames[-2][0], last)]  # a sliver joins the frame before it
    return frames


def level_db(samples: np.ndarray) -> float:
    """RMS level in dBFS over every channel; -120 for digital silence or no samples."""
    if samples.size == 0:
        return -120.0
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return max(-120.0, 10 * float(np.log10(max(power, 1e-30))))


def inaudible_frames(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Frames the output made inaudible: _INAUDIBLE_DB below the input, or under the floor."""
    return np.asarray(after) <= np.maximum(np.asarray(before) - _INAUDIBLE_DB, _FLOOR_DBFS)


def damaged_frames(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Frames with something to hear that lost more than _DAMAGE_DB in the output."""
    before, after = np.asarray(before), np.asarray(after)
    return (before > _FLOOR_DBFS) & (after < before - _DAMAGE_DB)


@dataclass(frozen=True)
class ExplicitScore:
    """How one explicit item came out of one approach."""

    file: str
    text: str
    source: str
    fmt: str
    condition: str
    position: str
    form: str
    adjacent: bool
    frames: int  # frames judged: those where the word's own speech is above the speech floor
    audible: int
    leak_ms: float  # the audible frames' length

    @property
    def caught(self) -> bool:
        return self.frames - self.audible >= _STRICT_SHARE * self.frames


@dataclass(frozen=True)
class FileScore:
    """What one approach did to one file."""

    file: str
    source: str
    fmt: str
    condition: str
    explicit: list[ExplicitScore]
    clean_frames: int  # clean-speech frames judged
    clean_damaged: int
    near_frames: int  # of those, the ones within _NEAR_SECONDS of an explicit item
    near_damaged: int
    # every clean and trap item, in order: (kind, text, frames judged, frames damaged)
    units: list[tuple[str, str, int, int]] = field(default_factory=list)

    @property
    def traps(self) -> list[tuple[str, int]]:
        """(trap word, damaged frames) for each trap word."""
        return [(text, damaged) for kind, text, _, damaged in self.units if kind == "trap"]


def _judged(
    item: Item, built: Built, shift: float, before: np.ndarray, after: np.ndarray, rate: int
) -> list[tuple[int, int, float, float]]:
    """The item's frames whose speech is above the floor: (first, stop, input dB, output dB).

    The speech is judged on its own track, before any background was mixed in: a frame
    where the word has nothing to hear (a stop's closure, a fading tail under the noise) says
    nothing about the censor. If no frame of the item passes, all of them are judged.
    """
    frames = word_frames(item.start + shift, item.end + shift, rate)
    frames = [(a, min(b, len(before), len(after))) for a, b in frames if a < len(before)]
    frames = [(a, b) for a, b in frames if b > a]

    def speech_db(a: int, b: int) -> float:
        lo, hi = round((a / rate - shift) * RATE), round((b / rate - shift) * RATE)
        return level_db(built.speech[max(0, lo) : max(0, hi)])

    loud = [(a, b) for a, b in frames if speech_db(a, b) >= _SPEECH_DBFS - _SPEECH_FLOOR_DB]
    return [(a, b, level_db(before[a:b]), level_db(after[a:b])) for a, b in loud or frames]


def score_file(
    built: Built,
    shift: float,
    before: np.ndarray,
    after: np.ndarray,
    rate: int,
    listed: Iterable[str],
) -> FileScore:
    """Judges one output against the file's truth in 20 ms frames of each spoken item.

    Args:
        built: the file and its truth.
        shift: seconds the decoded input lies behind the mix (see estimate_lag).
        before: the decoded input, (frames, channels).
        after: the decoded output, the same shape.
        rate: their sample rate.
        listed: the list's single words, normalized (to tell listed words from inflections).
    """
    clip = built.clip
    scores = []
    described = iter(describe_explicit(built.items, listed))
    explicit = [i for i in built.items if i.kind == "explicit"]
    for item in explicit:
        judged = _judged(item, built, shift, before, after, rate)
        ins = np.array([j[2] for j in judged])
        outs = np.array([j[3] for j in judged])
        audible = ~inaudible_frames(ins, outs)
        where = next(described)
        scores.append(
            ExplicitScore(
                clip.name,
                item.text,
                clip.source,
                clip.fmt,
                clip.condition,
                where["position"],
                where["form"],
                where["adjacent"],
                len(judged),
                int(np.sum(audible)),
                sum(
                    (b - a) / rate * 1000
                    for (a, b, _, _), hit in zip(judged, audible, strict=True)
                    if hit
                ),
            )
        )
    clean = near = clean_damaged = near_damaged = 0
    units = []
    for item in built.items:
        if item.kind == "explicit":
            continue
        judged = _judged(item, built, shift, before, after, rate)
        damaged = damaged_frames(np.array([j[2] for j in judged]), np.array([j[3] for j in judged]))
        close = [
            any(
                a / rate < e.end + shift + _NEAR_SECONDS
                and b / rate > e.start + shift - _NEAR_SECONDS
                for e in explicit
            )
            for a, b, _, _ in judged
        ]
        clean += len(judged)
        clean_damaged += int(np.sum(damaged))
        near += sum(close)
        near_damaged += sum(c and bool(d) for c, d in zip(close, damaged, strict=True))
        units.append((item.kind, item.text, len(judged), int(np.sum(damaged))))
    return FileScore(
        clip.name,
        clip.source,
        clip.fmt,
        clip.condition,
        scores,
        clean,
        clean_damaged,
        near,
        near_damaged,
        units,
    )


def _explicit_summary(scores: Sequence[ExplicitScore]) -> dict[str, Any]:
    if not scores:
        return {"words": 0}
    return {
        "words": len(scores),
        "strict_recall": round(sum(s.caught for s in scores) / len(scores), 4),
        "leak_ms": round(float(np.mean([s.leak_ms for s in scores])), 1),
    }


def _clean_summary(files: Sequence[FileScore]) -> dict[str, Any]:
    frames = sum(f.clean_frames for f in files)
    damaged = sum(f.clean_damaged for f in files)
    traps = [t for f in files for t in f.traps]
    return {
        "clean_frames": frames,
        "clean_damaged": round(damaged / frames, 4) if frames else 0.0,
        "traps": len(traps),
        "traps_damaged": sum(d > 0 for _, d in traps),
    }


def summarize(files: Sequence[FileScore]) -> dict[str, Any]:
    """The four numbers over every file, and split by position, form, condition, source and
    format (position and form split explicit words only)."""
    words = [s for f in files for s in f.explicit]
    near = sum(f.near_frames for f in files)
    overall = {
        **_explicit_summary(words),
        **_clean_summary(files),
        "near_frames": near,
        "near_damaged": round(sum(f.near_damaged for f in files) / near, 4) if near else 0.0,
    }
    by: dict[str, dict[str, Any]] = {}
    explicit_splits: tuple[tuple[str, tuple[Any, ...]], ...] = (
        ("position", POSITIONS),
        ("form", ("listed", "inflection", "phrase")),
        ("adjacent", (True, False)),
    )
    for key, values in explicit_splits:
        by[key] = {
            str(v).lower(): _explicit_summary([s for s in words if getattr(s, key) == v])
            for v in values
        }
    file_splits = (("condition", CONDITIONS), ("source", SOURCES), ("fmt", FORMATS))
    for key, names in file_splits:
        groups = {v: [f for f in files if getattr(f, key) == v] for v in names}
        by["format" if key == "fmt" else key] = {
            v: {**_explicit_summary([s for f in g for s in f.explicit]), **_clean_summary(g)}
            for v, g in groups.items()
            if g
        }
    return {"overall": overall, "by": by}


# --- The classic approach ---------------------------------------------------------------


def classic_words(entries: Iterable[WordEntry]) -> frozenset[str]:
    """The list's single words as the classic approach matches them: no variations, no
    inflections, no phrases."""
    return frozenset(_norm(e.word) for e in entries if " " not in e.word)


def classic_spans(
    tokens: Iterable[Token], words: frozenset[str], pad: float = _CLASSIC_PAD
) -> list[dsp.Span]:
    """Whisper's times of every token whose lower-cased text, edge punctuation stripped, is a
    listed word, padded by ``pad`` on each side."""
    return [
        dsp.Span(max(0.0, t.start - pad), t.end + pad) for t in tokens if _norm(t.text) in words
    ]


# --- Running the approaches -------------------------------------------------------------


def _whisper_words(
    transcriber: Transcriber, pcm: np.ndarray, *, model: str, device: str, language: str
) -> list[Token]:
    """Whisper's words with no hotwords: what the classic approach starts from."""
    return [
        Token(e.text, e.start, e.end, e.probability)
        for e in transcriber.transcribe(
            pcm,
            model=model,
            device=device,
            language=language,
            hotwords=(),
            duration=None,
            offset=0.0,
        )
        if isinstance(e, WordResult)
    ]


async def _noop(stage: str, percent: float, message: str) -> None:
    return None


def _heard(tokens: Sequence[Token], start: float, end: float) -> str:
    return " ".join(t.text for t in tokens if t.start < end and t.end > start)


def _round_span(start: float, end: float) -> list[float]:
    return [round(start, 3), round(end, 3)]


@dataclass
class _FileRun:
    """Everything one file gave: scores per approach and the details behind them."""

    built: Built
    shift: float
    lag_samples: int
    decoded_rate: int
    scores: dict[str, FileScore]
    seconds: dict[str, float]
    classic_words: list[Token]
    classic_spans: list[dsp.Span]
    result: CensorResult


async def _run_file(
    built: Built,
    work: Path,
    transcriber: Transcriber,
    entries: Sequence[WordEntry],
    args: argparse.Namespace,
) -> _FileRun:
    from tests.support.speech import write_audio

    clip = built.clip
    listed = classic_words(entries)
    source = write_audio(built.audio, work / f"{clip.name}.{clip.fmt}")
    decoded = await asyncio.to_thread(media.decode, source)
    rate = decoded.sample_rate
    pcm = await asyncio.to_thread(media.to_mono_16k, decoded.samples, rate)
    reference = await asyncio.to_thread(media.to_mono_16k, built.audio.reshape(-1, 1), RATE)
    lag = estimate_lag(reference, pcm, round(_MAX_LAG_SECONDS * media.TRANSCRIBE_RATE))
    shift = lag / media.TRANSCRIBE_RATE

    async def render_encode(spans: Sequence[dsp.Span], name: str) -> np.ndarray:
        out = work / f"{clip.name}-{name}.{clip.fmt}"
        merged = dsp.merge_spans(spans, duration=decoded.duration)
        rendered = await asyncio.to_thread(dsp.render, decoded.samples, rate, merged, "silence")
        await asyncio.to_thread(media.encode, rendered, rate, source, out)
        return (await asyncio.to_thread(media.decode, out)).samples

    def score(after: np.ndarray) -> FileScore:
        n = min(len(after), len(decoded.samples))
        return score_file(built, shift, decoded.samples[:n], after[:n], rate, listed)

    outputs: dict[str, FileScore] = {}
    seconds: dict[str, float] = {}
    outputs["untouched"] = score(await render_encode([], "untouched"))
    truth = [dsp.Span(i.start + shift, i.end + shift) for i in built.items if i.kind == "explicit"]
    outputs["truth"] = score(await render_encode(truth, "truth"))

    started = time.perf_counter()
    words = await asyncio.to_thread(
        _whisper_words, transcriber, pcm, model=args.model, device=args.device, language="en"
    )
    spans = classic_spans(words, listed)
    classic_after = await render_encode(spans, "classic")
    seconds["classic"] = time.perf_counter() - started
    outputs["classic"] = score(classic_after)

    started = time.perf_counter()
    request = CensorRequest(
        input_path=source,
        output_path=work / f"{clip.name}-ours.{clip.fmt}",
        entries=entries,
        method="silence",
        min_severity="low",
    )
    transcribe = in_process_transcribe(
        transcriber, model=args.model, device=args.device, language="en"
    )
    result = await run_censor(request, transcribe, _noop)
    assert result.output_path is not None
    ours_after = (await asyncio.to_thread(media.decode, result.output_path)).samples
    seconds["ours"] = time.perf_counter() - started
    outputs["ours"] = score(ours_after)
    logger.info(
        "%s: classic %d/%d caught, ours %d/%d caught (%.1f s, %.1f s)",
        clip.name,
        sum(s.caught for s in outputs["classic"].explicit),
        len(outputs["classic"].explicit),
        sum(s.caught for s in outputs["ours"].explicit),
        len(outputs["ours"].explicit),
        seconds["classic"],
        seconds["ours"],
    )
    return _FileRun(built, shift, lag, rate, outputs, seconds, words, spans, result)


APPROACHES = ("classic", "ours")
REFERENCES = ("truth", "untouched")


def _word_details(run: _FileRun, listed: frozenset[str]) -> list[dict[str, Any]]:
    """Per explicit item: its truth, what Whisper wrote over it in each run, and how much of
    it each approach left audible."""
    explicit = [i for i in run.built.items if i.kind == "explicit"]
    details = []
    for k, item in enumerate(explicit):
        start, end = item.start + run.shift, item.end + run.shift
        classic_score = run.scores["classic"].explicit[k]
        ours_score = run.scores["ours"].explicit[k]
        censored = [
            c for c in run.result.censored if c.refined.start < end and c.refined.end > start
        ]
        matched = [
            t
            for t in run.classic_words
            if t.start < end and t.end > start and _norm(t.text) in listed
        ]
        details.append(
            {
                "file": run.built.clip.name,
                "text": item.text,
                "truth": _round_span(start, end),
                "edges": list(item.edges),
                "position": classic_score.position,
                "form": classic_score.form,
                "adjacent": classic_score.adjacent,
                "frames": classic_score.frames,
                # what muting exactly this span left audible: codec smear, frames' reach
                "truth_muted_audible_ms": run.scores["truth"].explicit[k].leak_ms,
                "classic": {
                    "heard": _heard(run.classic_words, start, end),
                    "whisper": _round_span(
                        min(t.start for t in matched), max(t.end for t in matched)
                    )
                    if matched
                    else None,
                    "audible_ms": classic_score.leak_ms,
                    "caught": classic_score.caught,
                },
                "ours": {
                    "heard": _heard(run.result.words, start, end),
                    "whisper": _round_span(
                        min(c.whisper.start for c in censored), max(c.whisper.end for c in censored)
                    )
                    if censored
                    else None,
                    "refined": _round_span(
                        min(c.refined.start for c in censored), max(c.refined.end for c in censored)
                    )
                    if censored
                    else None,
                    "widened": any(c.widened for c in censored),
                    "audible_ms": ours_score.leak_ms,
                    "caught": ours_score.caught,
                },
            }
        )
    return details


def _edge_errors(details: Sequence[dict[str, Any]], approach: str, key: str) -> dict[str, Any]:
    """Start and end errors (ms, positive = later than the truth) of the spans found."""
    starts, ends = [], []
    for d in details:
        span = d[approach][key]
        if span is None:
            continue
        starts.append((span[0] - d["truth"][0]) * 1000)
        ends.append((span[1] - d["truth"][1]) * 1000)
    if not starts:
        return {"words": 0}
    return {
        "words": len(starts),
        "start_median_ms": round(statistics.median(starts), 1),
        "end_median_ms": round(statistics.median(ends), 1),
        "start_late_share": round(sum(s > 0 for s in starts) / len(starts), 3),
        "end_early_share": round(sum(e < 0 for e in ends) / len(ends), 3),
        "start_worst_late_ms": round(max(starts), 1),
        "end_worst_early_ms": round(min(ends), 1),
    }


def _damaged_units(runs: Sequence[_FileRun], approach: str) -> list[dict[str, Any]]:
    """Every clean or trap item the approach damaged, with what Whisper wrote over it."""
    out = []
    for run in runs:
        items = [i for i in run.built.items if i.kind != "explicit"]
        words = run.classic_words if approach == "classic" else run.result.words
        for item, (kind, text, frames, damaged) in zip(
            items, run.scores[approach].units, strict=True
        ):
            if damaged:
                start, end = item.start + run.shift, item.end + run.shift
                out.append(
                    {
                        "file": run.built.clip.name,
                        "kind": kind,
                        "text": text,
                        "frames": frames,
                        "damaged_frames": damaged,
                        "heard": _heard(words, start, end),
                    }
                )
    return out


def _censored(run: _FileRun, listed: frozenset[str]) -> dict[str, list[dict[str, Any]]]:
    """What each approach censored in one file: the text it matched and the times."""
    matched = [t for t in run.classic_words if _norm(t.text) in listed]
    listed_spans = zip(matched, run.classic_spans, strict=True)
    return {
        "classic": [{"text": t.text, "span": _round_span(s.start, s.end)} for t, s in listed_spans],
        "ours": [
            {
                "text": c.match.text,
                "entry": c.match.word,
                "whisper": _round_span(c.whisper.start, c.whisper.end),
                "refined": _round_span(c.refined.start, c.refined.end),
                "widened": c.widened,
            }
            for c in run.result.censored
        ],
    }


def _machine() -> dict[str, Any]:
    from benchmarks.censor_stages import _cpu_model  # noqa: PLC0415

    return {
        "cpu_model": _cpu_model(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "faster_whisper": version("faster-whisper"),
        "ctranslate2": version("ctranslate2"),
        "piper": version("piper-tts"),
        "av": version("av"),
        "numpy": version("numpy"),
    }


def _set_summary(built: Sequence[Built], runs: Sequence[_FileRun]) -> dict[str, Any]:
    files = []
    for b, run in zip(built, runs, strict=True):
        counts = {k: sum(i.kind == k for i in b.items) for k in KINDS}
        files.append(
            {
                "file": b.clip.name,
                "source": b.clip.source,
                "voice": b.clip.voice or "en_US-joe-medium",
                "format": b.clip.fmt,
                "condition": b.clip.condition,
                "seconds": round(len(b.audio) / RATE, 2),
                "decoded_rate": run.decoded_rate,
                "lag_ms": round(run.shift * 1000, 2),
                "explicit": counts["explicit"],
                "traps": counts["trap"],
                "clean_units": counts["clean"],
            }
        )
    espeak_explicit = [
        i for b in built if b.clip.source == "espeak" for i in b.items if i.kind == "explicit"
    ]
    edges = [e for i in espeak_explicit for e in i.edges]
    spreads = [i.onset_spread * 1000 for i in espeak_explicit if i.edges[0] == "joined"]
    return {
        "files": files,
        "seconds": round(sum(len(b.audio) for b in built) / RATE, 1),
        "explicit": sum(f["explicit"] for f in files),
        "traps": sum(f["traps"] for f in files),
        "espeak_explicit_edges": {
            "at_a_pause": edges.count("pause"),
            "joined": edges.count("joined"),
            "joined_onsets_to_first_phoneme_ms": [round(x, 1) for x in sorted(spreads)],
        },
    }


async def _bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    missing = []
    try:
        espeak: Espeak | None = Espeak()
    except OSError:
        espeak = None
        missing.append("libespeak-ng is not installed, so the set holds piper speech only")
        logger.warning("libespeak-ng not found: piper speech only")
    chosen = SETS[args.set]
    clips = [c for c in chosen if not args.files or c.name in args.files]
    logger.info("synthesizing %d files", len(clips))
    built = await asyncio.to_thread(build_set, clips, espeak)

    transcriber = create_transcriber(TranscriberSettings())
    loaded = await asyncio.to_thread(transcriber.preload, model=args.model, device=args.device)
    entries = load_seed_entries()
    listed = classic_words(entries)
    runs = []
    for b in built:
        runs.append(await _run_file(b, work, transcriber, entries, args))

    results: dict[str, Any] = {}
    for name in (*APPROACHES, *REFERENCES):
        results[name] = summarize([r.scores[name] for r in runs])
    details = [d for r in runs for d in _word_details(r, listed)]
    audio_seconds = sum(len(b.audio) for b in built) / RATE
    return {
        "benchmark": "censor_accuracy",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "run": {
            "model": args.model,
            "device": loaded.device,
            "compute_type": loaded.compute_type,
            "language": "en",
            "list": "English - General (seed), min_severity low",
            "classic": f"no hotwords, exact match of the list's {len(listed)} single words, "
            f"{_CLASSIC_PAD * 1000:.0f} ms pad each side, silence",
            "ours": "run_censor, method silence, verification on",
            "espeak_ng": espeak.version() if espeak else None,
        },
        "metrics": {
            "frame_ms": FRAME_SECONDS * 1000,
            "inaudible": f"output <= max(input - {_INAUDIBLE_DB:.0f} dB, {_FLOOR_DBFS:.0f} dBFS)",
            "strict_recall": f"share of explicit items with >= {_STRICT_SHARE:.0%} of their "
            "frames inaudible",
            "leak_ms": "audible explicit frames x 20 ms, mean over explicit items",
            "clean_damaged": f"share of clean-speech frames above {_FLOOR_DBFS:.0f} dBFS that "
            f"lost more than {_DAMAGE_DB:.0f} dB",
            "traps_damaged": "trap words with at least one damaged frame",
        },
        "set": _set_summary(built, runs),
        "missing": missing,
        "results": results,
        "boundaries": {
            "classic_whisper": _edge_errors(details, "classic", "whisper"),
            "ours_whisper": _edge_errors(details, "ours", "whisper"),
            "ours_refined": _edge_errors(details, "ours", "refined"),
        },
        "seconds": {name: round(sum(r.seconds[name] for r in runs), 1) for name in APPROACHES},
        "audio_seconds": round(audio_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "load_average": {
            "start": load_at_start,
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "words": details,
        "damaged": {name: _damaged_units(runs, name) for name in APPROACHES},
        "censored": {r.built.clip.name: _censored(r, listed) for r in runs},
    }


def _row(name: str, r: dict[str, Any]) -> str:
    o = r["overall"]
    return (
        f"| {name} | {o['strict_recall']:.3f} | {o['leak_ms']:.1f} | {o['clean_damaged']:.2%} "
        f"| {o['traps_damaged']}/{o['traps']} | {o['near_damaged']:.1%} |"
    )


def _split_table(report: dict[str, Any], key: str, with_clean: bool) -> list[str]:
    results = report["results"]
    head = (
        "| "
        + key
        + " | words | recall classic | recall ours | leak classic (ms) | leak ours (ms) |"
    )
    rule = "|---|---:|---:|---:|---:|---:|"
    if with_clean:
        head += " clean damaged classic | clean damaged ours | traps classic | traps ours |"
        rule += "---:|---:|---:|---:|"
    lines = [head, rule]
    for value, c in results["classic"]["by"][key].items():
        o = results["ours"]["by"][key][value]
        if not c.get("words"):
            continue
        line = (
            f"| {value} | {c['words']} | {c['strict_recall']:.3f} | {o['strict_recall']:.3f} "
            f"| {c['leak_ms']:.1f} | {o['leak_ms']:.1f} |"
        )
        if with_clean:
            line += (
                f" {c['clean_damaged']:.2%} | {o['clean_damaged']:.2%} "
                f"| {c['traps_damaged']}/{c['traps']} | {o['traps_damaged']}/{o['traps']} |"
            )
        lines.append(line)
    return lines


def markdown_report(report: dict[str, Any]) -> str:
    """Formats a report (as written to the JSON file) as Markdown tables."""
    run, s, results = report["run"], report["set"], report["results"]
    lines = [
        "# censor_accuracy",
        "",
        f"{s['seconds']:.1f} s in {len(s['files'])} files ({s['explicit']} explicit items, "
        f"{s['traps']} trap words); Whisper {run['model']} on {run['device']} "
        f"({run['compute_type']}); {report['machine']['cpu_model']}, "
        f"{report['machine']['cpus_usable']} CPUs; {report['date']}.",
        "",
        "| approach | strict recall | leak (ms/word) | clean frames damaged | traps damaged "
        "| clean damaged within 100 ms of an explicit word |",
        "|---|---:|---:|---:|---:|---:|",
        _row("classic", results["classic"]),
        _row("**ours**", results["ours"]),
        _row("reference: exact truth spans muted", results["truth"]),
        _row("reference: untouched (re-encoded)", results["untouched"]),
        "",
        f"Wall seconds: classic {report['seconds']['classic']:.1f}, ours "
        f"{report['seconds']['ours']:.1f}, for {report['audio_seconds']:.1f} s of audio; "
        f"{report['wall_seconds']:.0f} s in all, load average "
        f"{report['load_average']['start'][0]:.2f} at the start, "
        f"{report['load_average']['end'][0]:.2f} at the end.",
        "",
    ]
    for key, with_clean in (
        ("position", False),
        ("form", False),
        ("adjacent", False),
        ("condition", True),
        ("source", True),
        ("format", True),
    ):
        lines += [f"By {key}:", "", *_split_table(report, key, with_clean), ""]
    b = report["boundaries"]
    lines += [
        "Span edges against the truth (ms; positive is later):",
        "",
        "| spans | words | start median | end median | starts late | ends early "
        "| latest start | earliest end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (
        ("classic_whisper", "Whisper, no hotwords (classic, before its pad)"),
        ("ours_whisper", "Whisper, with hotwords (ours, before refining)"),
        ("ours_refined", "ours, refined"),
    ):
        e = b[name]
        if e.get("words"):
            lines.append(
                f"| {label} | {e['words']} | {e['start_median_ms']:+.0f} "
                f"| {e['end_median_ms']:+.0f} "
                f"| {e['start_late_share']:.0%} | {e['end_early_share']:.0%} "
                f"| {e['start_worst_late_ms']:+.0f} | {e['end_worst_early_ms']:+.0f} |"
            )
    lines += ["", "Explicit items ours did not catch:", ""]
    missed = [w for w in report["words"] if not w["ours"]["caught"]]
    for w in missed or []:
        lines.append(
            f'- {w["file"]} "{w["text"]}" ({w["position"]}, {w["form"]}): '
            f"{w['ours']['audible_ms']:.0f} ms audible; Whisper wrote "
            f'"{w["ours"]["heard"]}"'
        )
    if not missed:
        lines.append("- none")
    lines += ["", "Clean items damaged most (frames damaged of judged; what Whisper wrote):", ""]
    for name in APPROACHES:
        worst = sorted(report["damaged"][name], key=lambda d: -d["damaged_frames"])[:8]
        text = "; ".join(
            f'{d["file"]} "{d["text"]}" {d["damaged_frames"]}/{d["frames"]} ("{d["heard"]}")'
            for d in worst
        )
        lines.append(f"- {name}: {text or 'none'}")
    lines += ["", "Trap words damaged:", ""]
    for name in APPROACHES:
        traps = [t for t in report["damaged"][name] if t["kind"] == "trap"]
        text = ", ".join(f'{t["file"]} "{t["text"]}" ({t["damaged_frames"]} frames)' for t in traps)
        lines.append(f"- {name}: {text or 'none'}")
    lines.append("")
    return "\n".join(lines)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.censor_accuracy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    parser.add_argument("--model", default="base", help="a size name or folder (default: base)")
    parser.add_argument("--files", nargs="*", help="only these files of the set (p1 ... e6)")
    parser.add_argument(
        "--set",
        choices=tuple(SETS),
        default="main",
        help="main: the reported set (default); dev: the tuning set (censor_accuracy-dev.*); "
        "holdout: the held-out set (censor_accuracy-holdout.*)",
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark once and writes its JSON and Markdown results; returns the exit code."""
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
        report = asyncio.run(_bench(args, Path(tmp)))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / ("censor_accuracy" + ("" if args.set == "main" else f"-{args.set}"))
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    table = markdown_report(report)
    stem.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    print(f"wrote {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
