"""Word-list entries: the one type every service uses, and the rules an entry obeys."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.common.errors import InvalidArgument

__all__ = [
    "CENSOR_METHODS",
    "DEFAULT_CATEGORY",
    "DEFAULT_SEVERITY",
    "MAX_NOTES_LENGTH",
    "MAX_WORD_LENGTH",
    "SEVERITIES",
    "WordEntry",
    "make_entry",
    "normalize_word",
    "severity_rank",
]

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "extreme")
CENSOR_METHODS: tuple[str, ...] = ("silence", "beep", "white_noise")
DEFAULT_SEVERITY = "medium"
DEFAULT_CATEGORY = "profanity"
MAX_WORD_LENGTH = 100
MAX_NOTES_LENGTH = 1000
MAX_VARIATIONS = 100

# "|" and "," separate fields in the txt and csv exports, so they cannot appear
# inside a word or a variation; control characters never belong in one.
_FORBIDDEN = re.compile(r"[|,\x00-\x1f\x7f]")
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,49}$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class WordEntry:
    """One listed word with its severity, category, spelling variations and notes."""

    word: str
    severity: str = DEFAULT_SEVERITY
    category: str = DEFAULT_CATEGORY
    variations: tuple[str, ...] = field(default_factory=tuple)
    notes: str = ""


def normalize_word(text: str) -> str:
    """Returns the canonical form of a word: NFKC, case-folded, single-spaced, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def severity_rank(severity: str) -> int:
    """Returns 0 for low up to 3 for extreme.

    Raises:
        InvalidArgument: for a name that is not a severity.
    """
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise InvalidArgument(
            f"unknown severity {severity!r}: expected one of {', '.join(SEVERITIES)}"
        ) from None


def _clean_term(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string")
    term = normalize_word(value)
    if not term:
        raise InvalidArgument(f"{what} must not be empty")
    if len(term) > MAX_WORD_LENGTH:
        raise InvalidArgument(f"{what} {term[:20]!r}... is longer than {MAX_WORD_LENGTH}")
    if _FORBIDDEN.search(term):
        raise InvalidArgument(f"{what} {term!r} contains '|', ',' or a control character")
    return term


def make_entry(
    word: object,
    *,
    severity: object = None,
    category: object = None,
    variations: object = None,
    notes: object = None,
) -> WordEntry:
    """Validates raw values into a normalized ``WordEntry``.

    Args:
        word: the listed word or phrase.
        severity: low, medium, high or extreme; None for medium.
        category: a short lower-case label; None for profanity.
        variations: an iterable of alternative spellings; None for none.
        notes: free text on one line; None for none.

    Returns:
        The entry, with the word and variations normalized and variations
        deduplicated in their given order (the word itself dropped from them).

    Raises:
        InvalidArgument: naming the field and the word that is wrong.
    """
    term = _clean_term(word, "word")
    sev = DEFAULT_SEVERITY if severity is None else severity
    if not isinstance(sev, str) or sev.strip().lower() not in SEVERITIES:
        raise InvalidArgument(
            f"severity of {term!r} must be one of {', '.join(SEVERITIES)}, got {sev!r}"
        )
    cat = DEFAULT_CATEGORY if category is None or category == "" else category
    if not isinstance(cat, str) or not _CATEGORY.match(cat.strip().lower()):
        raise InvalidArgument(
            f"category of {term!r} must be 1-50 lower-case letters, digits, spaces, "
            f"'_' or '-', got {cat!r}"
        )
    raw_variations: Iterable[object]
    if variations is None:
        raw_variations = ()
    elif isinstance(variations, list | tuple):
        raw_variations = variations
    else:
        raise InvalidArgument(f"variations of {term!r} must be a list of strings")
    if len(raw_variations) > MAX_VARIATIONS:  # type: ignore[arg-type]
        raise InvalidArgument(f"{term!r} has more than {MAX_VARIATIONS} variations")
    seen: dict[str, None] = {}
    for raw in raw_variations:
        variation = _clean_term(raw, f"variation of {term!r}")
        if variation != term:
            seen.setdefault(variation)
    note = "" if notes is None else notes
    if not isinstance(note, str):
        raise InvalidArgument(f"notes of {term!r} must be a string")
    note = note.strip()
    if len(note) > MAX_NOTES_LENGTH or re.search(r"[\x00-\x1f\x7f]", note):
        raise InvalidArgument(
            f"notes of {term!r} must be one line of at most {MAX_NOTES_LENGTH} characters"
        )
    return WordEntry(
        word=term,
        severity=sev.strip().lower(),
        category=cat.strip().lower(),
        variations=tuple(seen),
        notes=note,
    )
