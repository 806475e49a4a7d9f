"""The accuracy benchmark's pure parts: the scripts' truth, espeak-ng's events, frame verdicts."""

from __future__ import annotations

import re

import numpy as np
import pytest

from benchmarks.censor_accuracy import (
    CLIPS,
    DEV_CLIPS,
    FRAME_SECONDS,
    HOLDOUT_CLIPS,
    Built,
    Clip,
    Espeak,
    Item,
    Segment,
    SpeechEvent,
    WordSpan,
    classic_spans,
    classic_words,
    damaged_frames,
    describe_explicit,
    espeak_items,
    espeak_words,
    estimate_lag,
    event_sample,
    inaudible_frames,
    parse_script,
    piper_pieces,
    score_file,
    summarize,
    synthesize_alone,
    trim_to_sound,
    word_frames,
    word_spans,
)
from benchmarks.censor_stages import load_seed_entries
from services.censor.matching import Matcher, Token
from services.common.wordlists import make_entry

RATE = 22_050
WORD, PHONEME = 1, 7


def test_marks_become_segments_of_the_plain_text():
    plain, segments = parse_script("Oh [shit], the {bass} is [son of a bitch] loud.")
    assert plain == "Oh shit, the bass is son of a bitch loud."
    assert [(s.kind, s.text) for s in segments] == [
        ("clean", "Oh "),
        ("explicit", "shit"),
        ("clean", ", the "),
        ("trap", "bass"),
        ("clean", " is "),
        ("explicit", "son of a bitch"),
        ("clean", " loud."),
    ]
    assert all(plain[s.start : s.end] == s.text for s in segments)


def test_piper_says_each_segment_without_edge_punctuation_and_skips_silent_ones():
    _, segments = parse_script("[Shit], I forgot the {document}. [Bullshit]")
    pieces = piper_pieces(segments)
    assert [(p.kind, p.text) for p in pieces] == [
        ("explicit", "Shit"),
        ("clean", "I forgot the"),
        ("trap", "document"),
        ("explicit", "Bullshit"),
    ]


def test_espeak_units_are_clean_words_and_whole_marks():
    plain, segments = parse_script("Oh, [son of a bitch]. {He'll} see.")
    words = espeak_words(segments)
    assert [(w.kind, w.text) for w in words] == [
        ("clean", "Oh,"),
        ("explicit", "son of a bitch"),
        ("trap", "He'll"),
        ("clean", "see."),
    ]
    assert all(plain[w.start : w.end] == w.text for w in words)


@pytest.mark.parametrize("clip", CLIPS + HOLDOUT_CLIPS, ids=lambda c: c.name)
def test_only_the_explicit_marks_hold_listed_words(clip: Clip):
    """The truth is exact: the matcher finds every explicit mark whole, and nothing else."""
    plain, segments = parse_script(clip.text)
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", plain)]
    matches = Matcher(load_seed_entries(), "low").match(
        [Token(text, i, i + 1) for i, (_, _, text) in enumerate(tokens)]
    )
    covered = [(tokens[m.first][0], tokens[m.last][1]) for m in matches]
    explicit = [s for s in segments if s.kind == "explicit"]
    for start, end in covered:
        assert any(s.start <= start and end <= s.end + 1 for s in explicit), plain[start:end]
    for s in explicit:
        assert any(start <= s.start and s.end <= end for start, end in covered), s.text


@pytest.mark.parametrize("clips", [CLIPS, HOLDOUT_CLIPS], ids=["main", "holdout"])
def test_each_set_covers_every_format_condition_and_source(clips):
    for source in ("piper", "espeak"):
        mine = [c for c in clips if c.source == source]
        assert {c.fmt for c in mine} == {"mp3", "wav", "flac", "m4a", "ogg"}
        assert {c.condition for c in mine} == {"clean", "noise", "music"}
        starts = [parse_script(c.text)[1][0].kind for c in mine]
        assert starts.count("explicit") >= len(mine) // 2  # words at the very start


def test_the_held_out_set_shares_no_trap_word_voice_or_sentence_with_the_others():
    def parts(clips):
        segments = [s for c in clips for s in parse_script(c.text)[1]]
        traps = {s.text.casefold() for s in segments if s.kind == "trap"}
        plain = " ".join(parse_script(c.text)[0] for c in clips)
        sentences = {x.strip() for x in re.split(r"[.?!]", plain) if len(x.split()) > 3}
        return traps, {c.voice for c in clips if c.voice}, sentences

    held = parts(HOLDOUT_CLIPS)
    for other in (parts(CLIPS), parts(DEV_CLIPS)):
        for mine, theirs in zip(held, other, strict=True):
            assert not mine & theirs


def test_the_main_set_holds_the_issue_s_trap_words():
    texts = " ".join(c.text for c in CLIPS)
    for trap in ("assassin", "class", "bass", "Dickens", "Scunthorpe", "shell", "cocktail"):
        assert "{" + trap + "}" in texts
    for trap in ("therapist", "document", "He'll", "We'll"):
        assert "{" + trap + "}" in texts or "{" + trap.lower() + "}" in texts


def test_explicit_items_are_told_apart_by_position_form_and_neighbours():
    items = [
        Item("explicit", "Fuck", 0.0, 0.3),
        Item("clean", "this traffic", 0.4, 1.0),
        Item("explicit", "fucking", 1.1, 1.4),
        Item("explicit", "bullshit", 1.5, 1.9),
        Item("clean", "and", 2.0, 2.2),
        Item("explicit", "son of a bitch", 2.3, 3.0),
    ]
    described = describe_explicit(items, classic_words(load_seed_entries()))
    assert described == [
        {"position": "start", "form": "listed", "adjacent": False},
        {"position": "middle", "form": "inflection", "adjacent": True},
        {"position": "middle", "form": "listed", "adjacent": True},
        {"position": "end", "form": "phrase", "adjacent": False},
    ]


def test_an_event_lies_at_espeaks_sample_count_or_else_at_its_milliseconds():
    assert event_sample(SpeechEvent(WORD, 1, 4, 12, 286), RATE) == 286
    # a sample count that disagrees with the milliseconds is not trusted
    assert event_sample(SpeechEvent(WORD, 1, 4, 100, 0), RATE) == 2205


def _event(kind: int, char: int, length: int, sample: int) -> SpeechEvent:
    return SpeechEvent(kind, char, length, int(sample * 1000 / RATE), sample)


def test_words_run_from_their_event_to_the_next_words_event():
    events = [
        _event(2, 1, 0, 0),  # sentence
        _event(WORD, 1, 4, 0),
        _event(PHONEME, 1, 0, 286),
        _event(WORD, 6, 5, 4815),
        _event(PHONEME, 6, 0, 5101),
        _event(WORD, 11, 0, 9000),  # a word event with no characters ends some clauses
        _event(5, 11, 0, 9000),  # end
    ]
    assert word_spans(events, 10_000, RATE) == [
        WordSpan(char=0, length=4, start=0, end=4815, first_phoneme=286),
        WordSpan(char=5, length=5, start=4815, end=10_000, first_phoneme=5101),
    ]


def test_a_span_is_trimmed_to_its_sound():
    audio = np.zeros(100, np.float32)
    audio[30:60] = 0.1
    audio[45] = 0.0
    assert trim_to_sound(audio, 10, 90) == (30, 60)
    assert trim_to_sound(audio, 70, 90) == (70, 70)


def test_units_gather_their_words_spans_and_a_clean_word_with_none_joins_the_one_before():
    audio = np.zeros(1000, np.float32)
    audio[10:300] = 0.1  # "in the": one event; the sound runs on into the next word
    audio[300:600] = 0.2  # "fuck", joined to the word before it
    audio[750:990] = 0.1  # "off", after a pause
    words = [
        Segment("clean", "in", 0, 2),
        Segment("clean", "the", 3, 6),
        Segment("explicit", "fuck", 7, 11),
        Segment("clean", "off", 12, 15),
    ]
    spans = [
        WordSpan(0, 2, 0, 300, 5),
        WordSpan(7, 4, 300, 650, 320),
        WordSpan(12, 3, 650, 1000, 750),
    ]
    items = espeak_items(words, spans, audio, RATE)
    assert [(i.kind, i.text) for i in items] == [
        ("clean", "in the"),
        ("explicit", "fuck"),
        ("clean", "off"),
    ]
    explicit = items[1]
    assert (explicit.start, explicit.end) == (300 / RATE, 600 / RATE)
    assert explicit.edges == ("joined", "pause")
    assert explicit.onset_spread == pytest.approx(20 / RATE)
    with pytest.raises(ValueError, match="fuck"):
        espeak_items(words, [spans[0], spans[2]], audio, RATE)


def test_frames_tile_a_word_from_its_start_without_slivers():
    hop = round(FRAME_SECONDS * RATE)
    assert word_frames(1.0, 1.05, RATE) == [
        (22050, 22050 + hop),
        (22050 + hop, 22050 + 2 * hop),
        (22050 + 2 * hop, round(1.05 * RATE)),
    ]
    # 0.1401 s: seven whole frames and a 2-sample sliver, which joins the seventh
    assert word_frames(0.0, 0.1401, RATE) == [
        *((k * hop, (k + 1) * hop) for k in range(6)),
        (6 * hop, round(0.1401 * RATE)),
    ]


def test_frame_verdicts():
    before = np.array([-20.0, -20.0, -20.0, -70.0])
    after = np.array([-49.0, -51.0, -56.0, -120.0])
    assert inaudible_frames(before, after).tolist() == [False, True, True, True]
    assert damaged_frames(
        np.array([-20.0, -20.0, -70.0]), np.array([-22.0, -24.0, -120.0])
    ).tolist() == [
        False,
        True,
        False,
    ]


def _built(items: list[Item], seconds: float = 2.0) -> tuple[Built, np.ndarray]:
    t = np.arange(int(seconds * RATE)) / RATE
    speech = np.zeros_like(t, dtype=np.float32)
    for item in items:
        inside = (t >= item.start) & (t < item.end)
        speech[inside] = 0.1 * np.sin(2 * np.pi * 440 * t[inside])
    clip = Clip("x", "piper", "wav", "clean", "")
    return Built(clip, speech, speech, items), speech


def test_a_file_is_judged_frame_by_frame_against_its_truth():
    items = [
        Item("clean", "well", 0.2, 0.6),
        Item("explicit", "shit", 0.6, 1.0),
        Item("trap", "shell", 1.2, 1.6),
    ]
    built, speech = _built(items)
    before = speech.reshape(-1, 1)
    after = before.copy()
    # muted from 20 ms after the word's start to its end, and the trap's first 100 ms too
    after[round(0.62 * RATE) : round(1.0 * RATE)] = 0.0
    after[round(1.2 * RATE) : round(1.3 * RATE)] = 0.0
    score = score_file(built, 0.0, before, after, RATE, classic_words(load_seed_entries()))
    (word,) = score.explicit
    assert (word.frames, word.audible) == (20, 1)
    assert word.leak_ms == pytest.approx(20.0)
    assert word.caught  # 95% of its frames
    assert (word.position, word.form) == ("middle", "listed")
    assert (score.clean_frames, score.clean_damaged) == (40, 5)
    assert score.traps == [("shell", 5)]
    assert (score.near_frames, score.near_damaged) == (5, 0)

    summary = summarize([score])
    overall = summary["overall"]
    assert overall["strict_recall"] == 1.0
    assert overall["leak_ms"] == 20.0
    assert overall["clean_damaged"] == pytest.approx(5 / 40)
    assert (overall["traps"], overall["traps_damaged"]) == (1, 1)
    assert summary["by"]["position"]["middle"]["words"] == 1
    assert summary["by"]["condition"]["clean"]["clean_frames"] == 40


def test_frames_where_the_word_is_silent_are_not_judged():
    items = [Item("explicit", "damn", 0.5, 1.0)]
    built, speech = _built(items)
    speech[round(0.8 * RATE) : round(1.0 * RATE)] *= 1e-3  # a tail 60 dB down
    noise = np.random.default_rng(0).normal(0, 0.01, speech.shape).astype(np.float32)
    before = (speech + noise).reshape(-1, 1)
    after = before.copy()
    after[round(0.5 * RATE) : round(0.8 * RATE)] = 0.0  # the tail, noise alone, is left
    built = Built(built.clip, before[:, 0], speech, items)
    score = score_file(built, 0.0, before, after, RATE, set())
    (word,) = score.explicit
    assert (word.frames, word.audible) == (15, 0)


def test_the_classic_approach_matches_the_lists_own_words_only():
    entries = [make_entry("fuck"), make_entry("hell"), make_entry("son of a bitch")]
    words = classic_words(entries)
    assert words == {"fuck", "hell"}
    tokens = [
        Token(" Fuck,", 0.5, 0.8),
        Token("fucking", 1.0, 1.3),
        Token("he'll", 1.5, 1.7),
        Token("HELL!", 2.0, 2.2),
        Token("bitch", 2.5, 2.8),
    ]
    spans = classic_spans(tokens, words, pad=0.05)
    assert [(s.start, s.end) for s in spans] == [
        pytest.approx((0.45, 0.85)),
        pytest.approx((1.95, 2.25)),
    ]


def test_the_lag_of_decoded_audio_is_found():
    reference = np.random.default_rng(1).normal(size=8000).astype(np.float32)
    delayed = np.concatenate([np.zeros(743, np.float32), reference])[:8000]
    assert estimate_lag(reference, delayed, 2000) == 743
    assert estimate_lag(reference, reference, 2000) == 0


def test_espeak_ng_reports_a_word_event_for_each_word_in_order():
    espeak = Espeak()
    assert espeak.rate == RATE
    plain, segments = parse_script("This [fucking] plan is [bullshit] again.")
    audio, events = espeak.synthesize(plain, "en-us")
    spans = word_spans(events, len(audio), espeak.rate)
    assert [plain[s.char : s.char + s.length] for s in spans] == [
        "This",
        "fucking",
        "plan",
        "is",
        "bullshit",
        "again",
    ]
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    items = espeak_items(espeak_words(segments), spans, audio, espeak.rate)
    assert [i.text for i in items] == ["This", "fucking", "plan", "is", "bullshit", "again."]
    assert all(a.end <= b.start for a, b in zip(items, items[1:], strict=False))


def test_an_espeak_clip_sounds_the_same_whatever_was_synthesized_before():
    # espeak-ng carries state between utterances in a process; each clip gets its own.
    text = "That lying bastard and a jackass."
    first, events, rate = synthesize_alone(text, "en-us")
    Espeak().synthesize("Something else entirely, said first.", "en-gb-x-rp")
    again, events_again, _ = synthesize_alone(text, "en-us")
    assert rate == RATE
    assert np.array_equal(first, again)
    assert events == events_again
