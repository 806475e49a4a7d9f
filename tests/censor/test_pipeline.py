"""Pure parts of the censor pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.censor_stages import in_process_transcribe
from services.censor.dsp import Span
from services.censor.matching import Token
from services.censor.pipeline import CensorRequest, hotword_order, run_censor
from services.censor.report import build_report
from services.common import media
from services.common.wordlists import make_entry
from tests.support.speech import build_track, write_audio


def test_hotwords_are_the_single_words_roots_first_then_alphabetical():
    entries = [
        make_entry("apeshit", severity="medium"),
        make_entry("zounds", severity="extreme"),
        make_entry("damn", severity="low"),
        make_entry("fuck", severity="high", variations=["fucking", "f***"]),
        make_entry("motherfucker", severity="high"),
        make_entry("shit", severity="medium"),
        make_entry("arse", severity="extreme"),
        make_entry("son of a bitch", severity="high"),
    ]
    # "fuck" stands in four forms, "shit" in two ("apeshit"), the rest in their own.
    assert hotword_order(entries) == [
        "fuck",
        "shit",
        "apeshit",
        "arse",
        "damn",
        "motherfucker",
        "zounds",
    ]


def _tone(t, silence=0.2):
    """A 300 Hz tone after ``silence`` seconds of silence (sound from the first sample has
    the opening heard again, see test_the_opening_*)."""
    return np.where(t >= silence, 0.3 * np.sin(2 * np.pi * 300 * t), 0.0).astype(np.float32)


def _entries():
    return [make_entry("fuck", severity="high"), make_entry("damn", severity="low")]


async def _run(tmp_path, verify_hears, **options):
    """Runs the pipeline on a tone with a fake transcriber: the hearings with and without
    hotwords hear "fuck" at 1.0-1.3 s; each verification pass hears what ``verify_hears``
    returns."""
    rate = 22050
    t = np.arange(int(3.0 * rate)) / rate
    source = write_audio(_tone(t), tmp_path / "a.wav")
    calls = []

    async def transcribe(pcm, duration, hotwords):
        calls.append((pcm.shape[0] / 16000, list(hotwords)))
        tokens = (
            [Token("What", 0.5, 0.8), Token("the", 0.8, 1.0), Token("fuck", 1.0, 1.3, 0.9)]
            if len(calls) <= 2
            else verify_hears(len(calls) - 2)
        )
        for token in tokens:
            yield token
        yield 100.0

    async def progress(stage, percent, message):
        stages.append(stage)

    stages: list[str] = []
    request = CensorRequest(
        input_path=source,
        output_path=tmp_path / "out.wav",
        entries=_entries(),
        method="silence",
        min_severity="low",
        **options,
    )
    return await run_censor(request, transcribe, progress), calls, stages


async def test_a_span_still_heard_is_widened_and_rendered_again(tmp_path):
    plain, _, _ = await _run(tmp_path, lambda n: [], verify=False)
    [unwidened] = plain.censored
    # The joined verification audio starts with the first cut: the span +- 0.1 s of context.
    result, calls, stages = await _run(
        tmp_path, lambda n: [Token("fuck", 0.12, 0.3, 0.8)] if n == 1 else []
    )
    [word] = result.censored
    assert word.widened and not unwidened.widened
    assert word.whisper == unwidened.whisper == Span(1.0, 1.3)
    assert word.refined.start == pytest.approx(unwidened.refined.start - 0.06)
    assert word.refined.end == pytest.approx(unwidened.refined.end + 0.06)
    assert result.spans == [word.refined]
    assert len(calls) == 4  # two hearings (with hotwords, then without), two verifications
    assert calls[0][1] and calls[1][1] == [] and calls[2][1] == []  # none when verifying
    assert "verification" in stages
    out = media.decode(tmp_path / "out.wav").samples
    rate = 22050
    widened = out[int((word.refined.start + 0.01) * rate) : int(unwidened.refined.start * rate)]
    assert widened.size and np.sqrt(np.mean(widened**2)) < 1e-3  # the widened part is silent
    assert build_report(result)["censored"][0]["widened"] is True


async def test_a_span_not_heard_again_is_left_as_it_is(tmp_path):
    result, calls, _ = await _run(tmp_path, lambda n: [Token("the", 0.01, 0.05, 0.9)])
    [word] = result.censored
    assert not word.widened and len(calls) == 3
    assert word.refined.start <= 1.0 and word.refined.end >= 1.3


async def test_a_guess_with_low_confidence_does_not_widen(tmp_path):
    result, _, _ = await _run(tmp_path, lambda n: [Token("fuck", 0.12, 0.3, 0.2)])
    assert not result.censored[0].widened


async def test_verification_can_be_switched_off(tmp_path):
    result, calls, stages = await _run(tmp_path, lambda n: [], verify=False)
    assert len(calls) == 2 and "verification" not in stages


async def _dry_run(
    tmp_path, entries, first_pass, later, *, seconds=4.0, silence=0.2, plain=None, stages=None
):
    """A dry run on a tone of ``seconds`` (after ``silence`` seconds of silence) whose
    hearings with and without hotwords hear ``first_pass`` (the one without ``plain`` when
    given) and every later pass ``later`` (in the window's own times); returns the result
    and each pass's (samples, hotwords). Progress goes to ``stages`` as (stage, percent)."""
    rate = 22050
    t = np.arange(int(seconds * rate)) / rate
    source = write_audio(_tone(t, silence), tmp_path / "a.wav")
    calls = []
    hearings = {1: first_pass, 2: first_pass if plain is None else plain}

    async def transcribe(pcm, duration, hotwords):
        calls.append((pcm, list(hotwords)))
        for token in hearings.get(len(calls), later):
            yield token
        yield 100.0

    async def progress(stage, percent, message):
        if stages is not None:
            stages.append((stage, percent))

    request = CensorRequest(
        input_path=source,
        output_path=tmp_path / "out.wav",
        entries=entries,
        method="silence",
        min_severity="low",
        dry_run=True,
    )
    return await run_censor(request, transcribe, progress), calls


async def _split_run(tmp_path, recheck_hears):
    """The first pass hears "cock" (unsure) and "fuck" (sure); a re-check of an unsure match
    hears ``recheck_hears``."""
    first = [
        Token("the", 0.5, 0.8, 0.9),
        Token("cock", 1.0, 1.2, 0.02),
        Token("that", 1.2, 1.4, 0.5),
        Token("fuck", 2.5, 2.8, 0.9),
    ]
    entries = [make_entry("fuck", severity="high"), make_entry("cock", severity="medium")]
    return await _dry_run(tmp_path, entries, first, recheck_hears)


async def test_a_clean_word_the_prompt_split_is_not_censored(tmp_path):
    # Heard again without hotwords (the window: 3 s each side of the match, clipped to the
    # 4 s file, so it starts at 0 s), "cockpit" stands where "cock" was.
    result, calls = await _split_run(tmp_path, [Token("cockpit", 0.9, 1.4, 0.15)])
    assert [m.word for m in result.matches] == ["fuck"]
    assert result.words_detected == 1
    assert len(calls) == 3 and calls[2][1] == []  # one re-check, with no hotwords
    assert calls[2][0].shape[0] / 16000 == pytest.approx(4.0)


@pytest.mark.parametrize(
    "heard",
    [
        [Token("cock", 1.0, 1.2, 0.6)],  # the listed word again
        [Token("rock", 1.0, 1.2, 0.9)],  # another word, not a longer one holding the match
        [Token("cockpit", 1.0, 1.4, 0.05)],  # a longer word, but heard with no confidence
        [],  # nothing
    ],
)
async def test_a_match_the_re_check_does_not_split_is_kept(tmp_path, heard):
    result, _ = await _split_run(tmp_path, heard)
    assert [m.word for m in result.matches] == ["cock", "fuck"]


@pytest.mark.parametrize(
    "after, heard_again",
    [
        (Token("bitlights", 1.2, 1.6, 0.2), True),  # joined and unsure: the rest of a word?
        (Token("bitlights", 1.3, 1.6, 0.2), False),  # unsure, but after a gap
        (Token("that", 1.2, 1.6, 0.9), False),  # joined, but sure
    ],
)
async def test_a_sure_match_joined_to_an_unsure_word_is_heard_again(tmp_path, after, heard_again):
    # "cock bitlights" for "cockpit lights": Whisper is sure of the listed part.
    first = [Token("the", 0.5, 0.8, 0.9), Token("cock", 1.0, 1.2, 0.99), after]
    entries = [make_entry("cock", severity="medium")]
    result, calls = await _dry_run(tmp_path, entries, first, [Token("cockpit", 0.9, 1.4, 0.3)])
    assert len(calls) == (3 if heard_again else 2)
    assert [m.word for m in result.matches] == ([] if heard_again else ["cock"])


@pytest.mark.parametrize(
    "before, heard, kept",
    [
        # "hang cock" for "Hancock": unsure of the start, joined to the listed part.
        (Token("hang", 0.7, 1.0, 0.04), [Token("Hencock", 0.7, 1.2, 0.39)], False),
        (Token("hang", 0.7, 1.0, 0.04), [Token("Hencock", 0.7, 1.2, 0.05)], True),  # no trust
        (Token("hang", 0.7, 1.0, 0.04), [Token("hang", 0.7, 1.0), Token("cock", 1.0, 1.2)], True),
        # A longer word that ends with the match counts only where the unsure word came
        # before: after a gap the match is not heard again at all.
        (Token("hang", 0.7, 0.9, 0.04), [Token("Hencock", 0.7, 1.2, 0.39)], True),
        (Token("hang", 0.7, 1.0, 0.9), [Token("Hencock", 0.7, 1.2, 0.39)], True),  # sure of it
    ],
)
async def test_a_sure_match_joined_from_an_unsure_word_is_heard_again(
    tmp_path, before, heard, kept
):
    first = [before, Token("cock,", 1.0, 1.2, 0.69), Token("read", 1.4, 1.6, 0.9)]
    entries = [make_entry("cock", severity="medium")]
    result, calls = await _dry_run(tmp_path, entries, first, heard)
    heard_again = before.end == 1.0 and before.probability < 0.3
    assert len(calls) == (3 if heard_again else 2)
    assert [m.word for m in result.matches] == (["cock"] if kept else [])


async def test_a_split_the_hearing_without_hotwords_shows_needs_no_re_check(tmp_path):
    first = [
        Token("hang", 0.7, 1.0, 0.04),
        Token("cock,", 1.0, 1.2, 0.69),
        Token("read", 1.4, 1.6, 0.9),
    ]
    plain = [Token("Hencock", 0.7, 1.2, 0.39), Token("reads", 1.2, 1.6, 0.55)]
    entries = [make_entry("cock", severity="medium")]
    result, calls = await _dry_run(tmp_path, entries, first, [], plain=plain)
    assert result.matches == [] and len(calls) == 2


@pytest.mark.parametrize(
    "after, kept",
    [
        (Token("insonetite,", 1.0, 1.5, 0.36), False),  # runs on from the match
        (Token("insonetite,", 1.1, 1.5, 0.36), True),  # after a gap: not one word
    ],
)
async def test_a_sure_match_is_checked_against_the_hearing_without_hotwords(tmp_path, after, kept):
    # "dick insonetite" for "Dickinson": sure of "dick", and of the word after it enough
    # that it is not heard again; the hearing without hotwords wrote "Dickinson".
    first = [Token("read", 0.5, 0.66, 0.95), Token("dick", 0.76, 1.0, 0.9), after]
    plain = [Token("read", 0.5, 0.66, 0.97), Token("Dickinson", 0.76, 1.24, 0.43)]
    entries = [make_entry("dick", severity="medium")]
    result, calls = await _dry_run(tmp_path, entries, first, [], plain=plain)
    assert len(calls) == 2  # no hearing again
    assert [m.word for m in result.matches] == (["dick"] if kept else [])


def _forced_first(probability):
    return [
        Token("bought", 0.5, 0.8, 0.9),
        Token("shit", 0.8, 1.05, probability),
        Token("arcade", 1.05, 1.45, 0.81),
    ]


@pytest.mark.parametrize(
    "probability, word",
    [
        # "shit arcade" (0.03) for "shiitake": without hotwords Whisper hears "sheet" (0.45).
        (0.03, "sheet"),
        # Unsure, and the word without hotwords is longer: the prompt carved the listed word
        # out of it ("arse", 0.11, for "harass").
        (0.11, "shiitake"),
    ],
)
async def test_a_listed_word_only_the_prompt_heard_gives_way_to_the_plain_one(
    tmp_path, probability, word
):
    plain = [
        Token("bought", 0.5, 0.8, 0.9),
        Token(word, 0.8, 1.08, 0.45),
        Token("arcade", 1.08, 1.45, 0.6),
    ]
    entries = [make_entry("shit", severity="medium")]
    result, _ = await _dry_run(tmp_path, entries, _forced_first(probability), [], plain=plain)
    assert [w.text for w in result.words] == ["bought", word, "arcade"]
    assert result.matches == [] and result.words_detected == 0


@pytest.mark.parametrize(
    "probability, over",
    [
        (0.06, Token("sheet", 0.8, 1.08, 0.45)),  # the prompted hearing was not that unsure
        (0.03, Token("sheet", 0.8, 1.08, 0.2)),  # nor the plain one sure of another word
        (0.03, Token("shit", 0.8, 1.08, 0.2)),  # the plain one hears the listed word too
        (0.03, Token("sheet", 0.8, 0.9, 0.45)),  # not over the match's middle
        (0.03, Token("shot", 0.8, 1.08, 0.45)),  # it spells close: the listed word misheard?
        (0.11, Token("sheet", 0.8, 1.08, 0.45)),  # unsure, but not that unsure, nor longer
        (0.3, Token("shiitake", 0.8, 1.08, 0.45)),  # longer, but Whisper was not unsure
        (0.03, Token("...", 0.8, 1.08, 0.45)),  # no word there at all
    ],
)
async def test_a_listed_word_heard_otherwise_without_hotwords_is_kept(tmp_path, probability, over):
    plain = [Token("bought", 0.5, 0.8, 0.9), over, Token("arcade", 1.08, 1.45, 0.6)]
    entries = [make_entry("shit", severity="medium")]
    result, _ = await _dry_run(tmp_path, entries, _forced_first(probability), [], plain=plain)
    assert [m.word for m in result.matches] == ["shit"]


async def test_a_phrase_with_one_word_only_the_prompt_heard_is_kept(tmp_path):
    first = [
        Token("son", 0.5, 0.7, 0.9),
        Token("of", 0.7, 0.8, 0.9),
        Token("a", 0.8, 0.86, 0.02),
        Token("bitch", 0.86, 1.2, 0.9),
    ]
    plain = [Token("sun", 0.5, 0.7, 0.6), Token("of", 0.7, 0.8, 0.9), Token("a", 0.8, 1.0, 0.5)]
    # (A one-word entry, so that there are hotwords and a hearing without them.)
    entries = [make_entry("son of a bitch", severity="high"), make_entry("fuck", severity="high")]
    result, calls = await _dry_run(tmp_path, entries, first, [], plain=plain)
    assert calls[0][1] == ["fuck"] and calls[1][1] == []
    assert [w.text for w in result.words] == ["son", "of", "a", "bitch"]
    assert [m.word for m in result.matches] == ["son of a bitch"]


def _cut_entries():
    return [make_entry("shit", severity="medium"), make_entry("shithead", severity="high")]


async def test_a_match_cut_short_is_heard_again_with_the_longer_listed_forms(tmp_path):
    # "shit, where" for "Shithead": a listed word, then a word Whisper was unsure of.
    first = [
        Token("shit,", 0.5, 0.68, 0.08),
        Token("where", 0.7, 1.06, 0.25),
        Token("were", 1.06, 1.26, 0.99),
    ]
    # Heard again: the longer word, then "where" in the rest of the span Whisper gave it.
    later = [
        Token("shithead,", 0.5, 0.9, 0.31),
        Token("where", 0.94, 1.04, 0.9),
        Token("were", 1.06, 1.26, 0.99),
    ]
    result, calls = await _dry_run(tmp_path, _cut_entries(), first, later)
    # The prompted and plain hearings, the split-word check (unsure), then this one.
    assert len(calls) == 4 and calls[3][1] == ["shithead"]
    assert [(w.text, w.start) for w in result.words] == [
        ("shithead,", 0.5),
        ("where", 0.94),
        ("were", 1.06),
    ]
    [word] = result.censored
    assert word.match.entry.word == "shithead" and word.whisper == Span(0.5, 0.9)


@pytest.mark.parametrize(
    ("rest", "later", "passes"),
    [
        (Token("where", 0.7, 1.06, 0.9), [], 3),  # Whisper was sure of the next word
        (Token("where", 0.8, 1.06, 0.25), [], 3),  # a gap: not the rest of the word
        # Heard again, but as the listed word alone, not on into the next word.
        (Token("where", 0.7, 1.06, 0.25), [Token("shit,", 0.5, 0.68, 0.5)], 4),
    ],
)
async def test_a_match_not_cut_short_is_left_as_it_is(tmp_path, rest, later, passes):
    first = [Token("shit,", 0.5, 0.68, 0.08), rest]
    result, calls = await _dry_run(tmp_path, _cut_entries(), first, later)
    assert len(calls) == passes
    assert [w.text for w in result.words] == ["shit,", "where"]
    assert [m.word for m in result.matches] == ["shit"]


async def _near_run(tmp_path, first_pass, recheck_hears):
    entries = [make_entry("fuck", severity="high"), make_entry("damn", severity="low")]
    return await _dry_run(tmp_path, entries, first_pass, recheck_hears)


async def test_an_unsure_near_homophone_heard_again_as_a_listed_word_is_censored(tmp_path):
    first = [Token("Oh", 0.5, 0.8, 0.9), Token("buck,", 1.0, 1.3, 0.05), Token("me", 1.3, 1.5, 0.9)]
    result, calls = await _near_run(tmp_path, first, [Token("fuck,", 1.02, 1.32, 0.6)])
    assert [m.word for m in result.matches] == ["fuck"]
    assert [w.text for w in result.words] == ["Oh", "fuck,", "me"]
    assert calls[2][1] == ["fuck"]  # heard again with only the close listed word as hotword
    assert result.censored[0].whisper == Span(1.02, 1.32)


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ([Token("buck,", 1.0, 1.3, 0.9)], None),  # Whisper was sure: not heard again
        ([Token("table", 1.0, 1.3, 0.05)], None),  # spells like no listed word
        ([Token("buck,", 1.0, 1.3, 0.05)], [Token("buck,", 1.0, 1.3, 0.3)]),  # heard the same
    ],
)
async def test_other_words_are_left_as_whisper_wrote_them(tmp_path, first, again):
    result, calls = await _near_run(tmp_path, first, again or [])
    assert result.matches == [] and [w.text for w in result.words] == [first[0].text]
    assert len(calls) == (2 if again is None else 3)


# -- the hearing without hotwords --------------------------------------------------------------


async def _plain_run(tmp_path, entries, prompted, plain):
    """A dry run whose hearing with hotwords hears ``prompted`` and the one without
    ``plain``; later passes hear nothing. Returns the result, each pass's hotwords and the
    progress as (stage, percent)."""
    stages: list[tuple[str, float]] = []
    result, calls = await _dry_run(tmp_path, entries, prompted, [], plain=plain, stages=stages)
    return result, [hotwords for _, hotwords in calls], stages


async def test_a_listed_word_heard_only_without_hotwords_is_censored(tmp_path):
    # Under the prompt Whisper wrote "task hole" for "asshole", sure of both; without it,
    # "asshole". The match takes the place of the words it covers.
    prompted = [
        Token("You", 0.5, 0.7, 0.9),
        Token("task", 1.0, 1.2, 0.8),
        Token("hole.", 1.2, 1.5, 0.8),
        Token("fuck", 2.5, 2.8, 0.9),
    ]
    plain = [
        Token("You", 0.5, 0.7, 0.9),
        Token("asshole.", 1.02, 1.48, 0.7),
        Token("duck", 2.5, 2.8, 0.5),
    ]
    entries = [make_entry("asshole", severity="high"), make_entry("fuck", severity="high")]
    result, calls, stages = await _plain_run(tmp_path, entries, prompted, plain)
    assert calls[0] == hotword_order(entries) and calls[1] == []
    assert [w.text for w in result.words] == ["You", "asshole.", "fuck"]
    assert [m.word for m in result.matches] == ["asshole", "fuck"]
    assert result.censored[0].whisper == Span(1.02, 1.48)
    # The stage's progress runs through both hearings, never back.
    heard = [p for stage, p in stages if stage == "transcription"]
    assert heard == sorted(heard) and 50.0 in heard and heard[-1] == 100.0


async def test_a_word_heard_in_both_hearings_is_censored_once(tmp_path):
    prompted = [Token("the", 0.5, 0.8, 0.9), Token("fuck", 1.0, 1.3, 0.9)]
    plain = [Token("the", 0.5, 0.8, 0.9), Token("fucking", 0.98, 1.35, 0.6)]
    entries = [make_entry("fuck", severity="high")]
    result, _, _ = await _plain_run(tmp_path, entries, prompted, plain)
    assert [w.text for w in result.words] == ["the", "fuck"]
    [word] = result.censored
    assert word.whisper == Span(1.0, 1.3)


async def test_without_hotwords_the_audio_is_heard_once(tmp_path):
    # A list of phrases alone gives Whisper no hotwords: its first hearing is the plain one.
    entries = [make_entry("son of a bitch", severity="high")]
    words = [
        Token(w, 0.5 + 0.2 * i, 0.7 + 0.2 * i, 0.9) for i, w in enumerate("son of a bitch".split())
    ]
    result, calls, _ = await _plain_run(tmp_path, entries, words, [])
    assert calls == [[]]
    assert [m.word for m in result.matches] == ["son of a bitch"]


# -- the opening ------------------------------------------------------------------------------


async def _opening_run(tmp_path, first_pass, opening_hears, silence=0.0):
    """A dry run on a 3 s tone (after ``silence`` seconds of silence) whose first pass hears
    ``first_pass`` and a hearing of the opening ``opening_hears`` (in the padded clip's
    times)."""
    return await _dry_run(
        tmp_path, _entries(), first_pass, opening_hears, seconds=3.0, silence=silence
    )


async def test_the_opening_is_heard_again_after_silence_when_its_first_word_matched_nothing(
    tmp_path,
):
    # Whisper wrote nothing for the "Damn" at the first sample; after a second of silence it
    # does, and the match takes its place before the first word.
    result, calls = await _opening_run(
        tmp_path,
        [Token("is", 1.06, 1.2, 0.5), Token("really", 1.2, 1.46, 0.9)],
        [Token("damn,", 1.0, 1.14, 0.3), Token("this", 1.34, 1.5, 0.9)],
    )
    assert len(calls) == 3
    opening, hotwords = calls[2]
    assert hotwords == hotword_order(_entries())
    assert not opening[:16000].any() and opening[16000:].any()  # 1 s of silence first
    assert opening.shape[0] == 16000 + 3 * 16000  # up to 3 s past the first word, or the end
    assert [t.text for t in result.words] == ["damn,", "is", "really"]
    [word] = result.censored
    assert word.whisper == Span(0.0, pytest.approx(0.14))


async def test_the_opening_is_not_heard_again_when_its_first_word_matched(tmp_path):
    _, calls = await _opening_run(
        tmp_path, [Token("fuck", 0.0, 0.3, 0.9), Token("off", 0.4, 0.6, 0.9)], []
    )
    assert len(calls) == 2


async def test_an_opening_in_silence_is_not_heard_again(tmp_path):
    _, calls = await _opening_run(tmp_path, [Token("is", 1.06, 1.2, 0.5)], [], silence=0.3)
    assert len(calls) == 2


async def test_a_match_heard_after_the_first_word_is_not_added_by_the_opening(tmp_path):
    result, calls = await _opening_run(
        tmp_path,
        [Token("the", 0.0, 0.2, 0.9), Token("day", 0.2, 0.5, 0.9)],
        [Token("the", 1.0, 1.2, 0.9), Token("damn", 1.6, 1.9, 0.9)],
    )
    assert len(calls) == 3
    assert [t.text for t in result.words] == ["the", "day"] and result.censored == []


@pytest.mark.parametrize(
    ("word", "rest", "gap"),
    [
        ("Fuck", "this traffic, we are going to be late again.", 0.2),
        ("Damn", "this coffee is really good.", 0.1),
    ],
)
async def test_a_listed_word_at_the_very_first_sample_is_censored(
    tmp_path, transcriber, word, rest, gap
):
    # The listed word from the clip's first sample: Whisper's first pass writes "that" for
    # it (measured); the opening heard again after a second of silence reads it.
    track = build_track([(word, True), (rest, False)], gap=gap, lead=0.0)
    audio = track.audio[np.flatnonzero(np.abs(track.audio) > 0.003)[0] :]
    source = write_audio(audio, tmp_path / "a.wav")

    async def progress(stage, percent, message):
        pass

    listed = ("fuck", "shit", "damn", "crap", "bitch", "bollocks", "piss")
    request = CensorRequest(
        input_path=source,
        output_path=tmp_path / "out.wav",
        entries=[make_entry(w, severity="high") for w in listed],
        method="silence",
        min_severity="low",
        dry_run=True,
    )
    transcribe = in_process_transcribe(transcriber, model="base", device="auto", language="en")
    result = await run_censor(request, transcribe, progress)
    said = [(t.text, round(t.start, 2)) for t in result.words[:3]]
    assert result.censored, said
    first = result.censored[0]
    assert first.match.text.lower().startswith(word.lower()), said
    assert first.refined.start < 0.05, said
