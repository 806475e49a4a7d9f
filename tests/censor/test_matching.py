"""The matching core: normalization, variations, phrases, masked forms, min_severity."""

from __future__ import annotations

import pytest

from services.censor.matching import Matcher, Token, normalize_token
from services.common.wordlists import make_entry

ENTRIES = [
    make_entry("fuck", severity="high", variations=["fucking", "fuckin'", "fucked", "f***"]),
    make_entry("shit", severity="medium", variations=["shitty", "sh1t"]),
    make_entry("damn", severity="low"),
    make_entry("hell", severity="low"),
    make_entry("son of a bitch", severity="high"),
    make_entry("bitch", severity="medium", variations=["bitches"]),
    make_entry("motherfucker", severity="extreme"),
    make_entry("ass", severity="low"),
]


def _tokens(text: str) -> list[Token]:
    return [Token(w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(text.split())]


def _matched(text: str, min_severity: str = "low") -> list[str]:
    return [m.entry.word for m in Matcher(ENTRIES, min_severity).match(_tokens(text))]


@pytest.mark.parametrize(
    "raw, expected",
    [("Fuck,", "fuck"), ("“Shit!”", "shit"), ("fuckin’", "fuckin'"), ("F***", "f***"), ("...", "")],
)
def test_normalize_token(raw, expected):
    assert normalize_token(raw) == expected


def test_words_and_variations_case_and_punctuation():
    assert _matched("What the FUCK, that's shitty!") == ["fuck", "shit"]
    assert _matched("he was fuckin' around") == ["fuck"]
    assert _matched("sh1t happens") == ["shit"]


def test_clean_words_that_contain_listed_ones_are_not_matched():
    assert _matched("the assassin in class played bass at hello shell") == []


def test_apostrophes_keep_contractions_apart():
    assert _matched("he'll go, we'll see, hell no") == ["hell"]


def test_multi_word_entry_and_its_parts():
    matches = Matcher(ENTRIES).match(_tokens("you son of a bitch"))
    assert [m.entry.word for m in matches] == ["son of a bitch"]
    assert (matches[0].first, matches[0].last) == (1, 4)
    assert matches[0].start == 0.5 and matches[0].end == 2.4


def test_split_compound_is_joined():
    assert _matched("you mother fucker") == ["motherfucker"]


def test_masked_forms():
    assert _matched("what the f*** is this") == ["fuck"]
    assert _matched("oh s**t") == ["shit"]
    assert _matched("rated ****") == []


def test_min_severity_threshold():
    text = "damn this shit, fuck"
    assert _matched(text, "low") == ["damn", "shit", "fuck"]
    assert _matched(text, "medium") == ["shit", "fuck"]
    assert _matched(text, "high") == ["fuck"]
    assert _matched(text, "extreme") == []


def test_possessive():
    assert _matched("that bitch's car") == ["bitch"]
