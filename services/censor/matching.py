"""Matching transcribed words against a word list: normalization, variations, phrases, masks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from services.common.wordlists import WordEntry, normalize_word, severity_rank

__all__ = ["Match", "Matcher", "Token", "normalize_token"]

# Whisper writes curly apostrophes and dashes now and then; fold them before comparing.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2013": "-", "\u2014": "-"})
_EDGE = re.compile(r"^[^\w*']+|[^\w*']+$")
_MAX_PHRASE = 5


@dataclass(frozen=True)
class Token:
    """One transcribed word with its times in seconds."""

    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class Match:
    """A run of tokens that stands for one listed entry."""

    first: int  # index of the first token
    last: int  # index of the last token (inclusive)
    start: float
    end: float
    entry: WordEntry
    text: str  # the transcribed text that matched


def normalize_token(text: str) -> str:
    """Returns a token folded for comparison: NFKC, case-folded, edge punctuation removed.

    Apostrophes and asterisks are kept ("fuckin'", "f***"); a leading or trailing
    apostrophe that only quotes the word is dropped by the caller's second try.
    """
    folded = normalize_word(unicodedata.normalize("NFKC", text).translate(_FOLD))
    return _EDGE.sub("", folded)


def _forms(token: str) -> list[str]:
    """The spellings to look up for one token: as written, and without quoting apostrophes."""
    forms = [token]
    stripped = token.strip("'")
    if stripped and stripped != token:
        forms.append(stripped)
    if token.endswith("'s") and len(token) > 2:
        forms.append(token[:-2])  # possessive: "bitch's"
    return forms


class Matcher:
    """Built once per job from the list's entries at or above ``min_severity``."""

    def __init__(self, entries: Sequence[WordEntry], min_severity: str = "low") -> None:
        threshold = severity_rank(min_severity)
        self._phrases: dict[tuple[str, ...], WordEntry] = {}
        self._joined: dict[str, WordEntry] = {}
        self._masks: list[tuple[str, WordEntry]] = []
        for entry in entries:
            if severity_rank(entry.severity) < threshold:
                continue
            for spelling in (entry.word, *entry.variations):
                words = tuple(spelling.split(" "))
                self._keep(self._phrases, words, entry)
                self._keep(self._joined, "".join(words), entry)
                if "*" not in spelling:
                    self._masks.append(("".join(words), entry))
        self._mask_cache: dict[str, WordEntry | None] = {}

    @staticmethod
    def _keep(table: dict, key: object, entry: WordEntry) -> None:
        # Where two entries share a spelling, the more severe one names the match.
        current = table.get(key)
        if current is None or severity_rank(entry.severity) > severity_rank(current.severity):
            table[key] = entry

    def _masked(self, token: str) -> WordEntry | None:
        """A masked token ("f***", "sh*t") stands for a listed word of its length and letters."""
        if "*" not in token or not token.strip("*"):
            return None
        if token not in self._mask_cache:
            pattern = re.compile("^" + re.escape(token).replace(r"\*", "[^\\s]") + "$")
            best: WordEntry | None = None
            for spelling, entry in self._masks:
                if pattern.match(spelling) and (
                    best is None or severity_rank(entry.severity) > severity_rank(best.severity)
                ):
                    best = entry
            self._mask_cache[token] = best
        return self._mask_cache[token]

    def _lookup(self, tokens: list[str]) -> WordEntry | None:
        if len(tokens) == 1:
            for form in _forms(tokens[0]):
                entry = self._phrases.get((form,)) or self._masked(form)
                if entry is not None:
                    return entry
            return None
        last_forms = _forms(tokens[-1])
        for last in last_forms:
            words = (*tokens[:-1], last)
            entry = self._phrases.get(words) or self._joined.get("".join(words))
            if entry is not None:
                return entry
        return None

    def match(self, tokens: Sequence[Token]) -> list[Match]:
        """Returns the matches in order, longest phrase first at each position, none overlapping."""
        norm = [normalize_token(t.text) for t in tokens]
        matches: list[Match] = []
        i = 0
        while i < len(tokens):
            if not norm[i]:
                i += 1
                continue
            found = None
            for n in range(min(_MAX_PHRASE, len(tokens) - i), 0, -1):
                window = norm[i : i + n]
                if not all(window):
                    continue
                entry = self._lookup(window)
                if entry is not None:
                    found = (n, entry)
                    break
            if found is None:
                i += 1
                continue
            n, entry = found
            run = tokens[i : i + n]
            matches.append(
                Match(
                    first=i,
                    last=i + n - 1,
                    start=run[0].start,
                    end=run[-1].end,
                    entry=entry,
                    text=" ".join(t.text.strip() for t in run),
                )
            )
            i += n
        return matches
