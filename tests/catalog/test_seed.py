"""The seeded default word list "English - General" is well formed and safe to load."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from services.common.wordlists import SEVERITIES, make_entry

SEED_NAME = "english_general.json"
ALLOWED_CATEGORIES = {"profanity", "sexual", "slur", "insult", "religious", "drugs"}
# Clean words that merely contain a listed word: the product must never censor them.
TRAP_WORDS = (
    "assassin",
    "class",
    "bass",
    "scunthorpe",
    "cocktail",
    "therapist",
    "shell",
    "hello",
    "document",
    "dickens",
    "he'll",
    "we'll",
    "well",
)


def _seed_path() -> Path:
    try:
        import services.catalog as catalog_pkg
    except ImportError:
        catalog_pkg = None
    package_file = getattr(catalog_pkg, "__file__", None)
    if package_file:  # a namespace package (no __init__.py) has no __file__
        return Path(package_file).parent / "seed" / SEED_NAME
    return Path(__file__).resolve().parents[2] / "services" / "catalog" / "seed" / SEED_NAME


def _load() -> dict:
    with _seed_path().open(encoding="utf-8") as handle:
        return json.load(handle)


SEED = _load()
WORDS: dict[str, dict] = SEED["words"]


def test_header_and_size() -> None:
    assert SEED["name"] == "English - General"
    assert SEED["language"] == "en"
    assert SEED["description"]
    assert len(WORDS) >= 150
    assert {entry["severity"] for entry in WORDS.values()} == set(SEVERITIES)
    assert sum(1 for entry in WORDS.values() if entry["variations"]) >= 75


def test_words_are_sorted_and_categories_known() -> None:
    assert list(WORDS) == sorted(WORDS)
    assert {entry["category"] for entry in WORDS.values()} <= ALLOWED_CATEGORIES


@pytest.mark.parametrize("word", sorted(WORDS))
def test_entry_round_trips_through_make_entry(word: str) -> None:
    raw = WORDS[word]
    entry = make_entry(
        word,
        severity=raw["severity"],
        category=raw["category"],
        variations=raw["variations"],
        notes=raw["notes"],
    )
    assert entry.word == word
    assert entry.severity == raw["severity"]
    assert entry.category == raw["category"]
    assert entry.variations == tuple(raw["variations"])
    assert entry.notes == raw["notes"]


def test_no_trap_word_is_listed() -> None:
    listed = set(WORDS)
    for entry in WORDS.values():
        listed.update(entry["variations"])
    assert not listed & set(TRAP_WORDS)


def test_no_variation_is_shared_or_shadows_a_word() -> None:
    counts = Counter(v for entry in WORDS.values() for v in entry["variations"])
    shared = sorted(v for v, n in counts.items() if n > 1)
    assert shared == []
    assert sorted(set(counts) & set(WORDS)) == []
