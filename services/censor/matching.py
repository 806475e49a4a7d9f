"""Matching transcribed words against a word list: spellings, inflections, compounds, masks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.common.wordlists import WordEntry, severity_rank

__all__ = ["CLEAN_WORDS", "RULES", "Match", "Matcher", "Token", "normalize_token"]

# How a match was found, from the most literal to the least.
RULES: tuple[str, ...] = ("exact", "variation", "inflection", "compound", "masked", "phrase")

# Everyday words that the inflection and compound rules would otherwise read as a listed
# word: verb senses of a listed noun ("cocked", "pricked"), unrelated words that happen to
# spell an inflection ("tardy", "monger", "shaggy") and one compound of two listed forms
# ("assassin" = "ass" + "assin"). Each also covers its own regular inflections. They give
# way to an explicit listing: a list that names "cocky" still censors it. Substrings need
# no entry here: the rules never match inside a word (class, Scunthorpe, cocktail).
CLEAN_WORDS: frozenset[str] = frozenset(
    {
        "assassin",
        "bloodied",
        "bummer",
        "butter",
        "chinked",
        "chinking",
        "cockadoodledoo",
        "cockahoop",
        "cocked",
        "cocker",
        "cockeyed",
        "cocking",
        "cocky",
        "cummings",
        "damning",
        "dicker",
        "knobby",
        "lesbos",
        "mingy",
        "monger",
        "poofy",
        "pricked",
        "pricker",
        "pricking",
        "shaggy",
        "spunky",
        "tardy",
        "titter",
        "willies",
        "woodpecker",
    }
)

# Common words that join a listed word into a compound: modifiers come first ("mother" +
# "fucker", "bull" + "shit", "dumb" + "ass"), heads come last ("ass" + "hole", "dick" +
# "head"). A compound needs a listed word on at least one side; two of these alone never
# match, and words outside these sets never join ("cock" + "tail", "pea" + "cock").
_MODIFIERS = frozenset(
    {
        "ape", "bad", "bat", "big", "broke", "bull", "butt", "candy", "cheap", "chicken",
        "cluster", "dip", "dog", "dumb", "fat", "half", "hard", "holy", "horse", "jack",
        "kick", "lame", "lard", "mind", "motha", "mother", "mutha", "pig", "punk", "rat",
        "smart", "sorry", "tight", "wise",
    }
)  # fmt: skip
_HEADS = frozenset(
    {
        "bag", "bird", "box", "brain", "bucket", "burger", "clown", "eater", "face", "fest",
        "hat", "head", "heap", "hole", "house", "kisser", "licker", "load", "lord", "monkey",
        "mouth", "muncher", "nut", "pants", "pile", "rag", "sack", "show", "stain", "stick",
        "storm", "sucker", "ton", "wad", "waffle", "wipe", "wit",
    }
)  # fmt: skip

# A listed word shorter than this takes no suffixes and never joins a compound, so a list
# with "ho" does not match "hoes" or "hole".
_MIN_STEM = 3
# An agent noun this long is a compound ("motherfucker", "cocksucker"); its verb stem
# takes verb endings too ("motherfucking"). Short ones do not: "tosser" is not "tossing".
_MIN_AGENT = 8
_VOWELS = frozenset("aeiou")
_VERB_SUFFIXES = ("ed", "er", "ers", "ing", "in", "y", "ier", "iest", "iness", "ery")

# Whisper writes curly apostrophes, typographic dashes and odd asterisks now and then.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2217": "*",
        "\u204e": "*",
    }
)
# Edge punctuation goes; "*" (masks) and "$" "@" (listed spellings such as "a$$") stay.
_EDGE = re.compile(r"^[^\w*$@]+|[^\w*$@]+$")
_SEPARATORS = re.compile(r"[\s-]+")
_CLITIC = re.compile(r"^(.+?)'(?:s|ll|re|ve|d|m)$")


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
    rule: str = "exact"  # one of RULES
    spelling: str = ""  # the listed or derived spelling the text was read as

    @property
    def word(self) -> str:
        return self.entry.word

    @property
    def severity(self) -> str:
        return self.entry.severity

    @property
    def category(self) -> str:
        return self.entry.category


@dataclass(frozen=True)
class _Hit:
    entry: WordEntry
    rule: str
    spelling: str  # what the text was read as
    base: str  # the listed spelling it derives from, hyphens and spaces removed
    rank: int  # severity rank of the entry


@dataclass(frozen=True)
class _Read:
    """One token as the matcher sees it."""

    keys: tuple[str, ...]  # the whole word, then its host without a clitic ("shit'll")
    allowed: bool
    hit: _Hit | None  # what the token matches by itself, allow-list aside


def normalize_token(text: str) -> str:
    """Returns a token folded for comparison.

    NFKC, case-folded, curly apostrophes and dashes made plain, invisible format
    characters removed and edge punctuation stripped; masks ("f***") and the listed
    symbols "$" and "@" are kept, and so is an apostrophe inside the word ("he'll").
    """
    folded = unicodedata.normalize("NFKC", text).translate(_FOLD)
    folded = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", folded.casefold())
    word = _EDGE.sub("", " ".join(folded.split()))
    inner = word[1:-1]
    if len(word) > 3 and word[0] == word[-1] == "*" and inner.isalpha():
        word = inner  # "*sigh*" is emphasis, not a mask
    return word


def _key(word: str) -> str:
    """One word of a listed spelling as the lookup tables hold it."""
    return normalize_token(word).strip("'").replace("-", "")


def _spelling_words(spelling: str) -> tuple[str, ...]:
    return tuple(k for k in (_key(w) for w in spelling.split()) if k)


def _fits(mask: str, word: str) -> bool:
    return len(mask) == len(word) and all(m in ("*", c) for m, c in zip(mask, word, strict=True))


def _visible(mask: str) -> bool:
    return any(c.isalnum() for c in mask)


def _vowel_stem(base: str) -> str:
    """The stem a vowel suffix joins: "shit" -> "shitt", "spic" -> "spick", "fuck" -> "fuck"."""
    if base.endswith("c"):
        return base + "k"
    groups = len(re.findall(r"[aeiouy]+", base))
    last, vowel, before = base[-1], base[-2], base[-3]
    if groups == 1 and last not in _VOWELS and last not in "wxy":
        if vowel in _VOWELS and before not in _VOWELS and before != "q":
            return base + last
    return base


def _inflections(base: str) -> set[str]:
    """The regular inflected and derived forms of one word, spelled by English rules."""
    if len(base) < _MIN_STEM or not base.isalpha():
        return set()
    if base.endswith("s") and not base.endswith("ss"):
        return set()  # already a plural: "tits", "bollocks"
    if base[-1] == "y" and base[-2] not in _VOWELS:
        stem = base[:-1] + "i"
        endings = ("es", "ed", "er", "ers", "est", "ness")
        return {stem + e for e in endings} | {base + "ing", base + "in"}
    if base[-1] == "e":
        stem = base[:-1]
        forms = {base + e for e in ("s", "d", "r", "rs", "y", "ry")}
        return forms | {stem + e for e in ("ing", "in", "y", "ier", "iest", "iness")}
    if base[-1] in _VOWELS:
        return {base + "s", base + "es"}  # "dildos", "dagoes"
    stem = _vowel_stem(base)
    plural = (stem if base.endswith("z") else base) + "es"
    forms = {plural if base.endswith(("s", "sh", "ch", "x", "z")) else base + "s"}
    forms |= {stem + suffix for suffix in _VERB_SUFFIXES}
    if len(base) >= _MIN_AGENT and base.endswith("er") and base[-3] not in _VOWELS:
        verb = base[:-2]  # "motherfucker" -> "motherfuck"
        forms |= {verb, verb + "s", verb + "ed", verb + "ing", verb + "in"}
    return forms


def _expand(words: Iterable[str]) -> frozenset[str]:
    """The words with their regular inflections, as lookup keys."""
    keys = {_key(w) for w in words}
    return frozenset(form for k in keys if k for form in ({k} | _inflections(k)))


def _plurals(key: str) -> set[str]:
    if len(key) < _MIN_STEM or not key.isalpha() or key.endswith("s"):
        return set()
    return {key + ("es" if key.endswith(("sh", "ch", "x", "z")) else "s")}


_GUARD = _expand(CLEAN_WORDS)


class Matcher:
    """Built once per job from the list's entries at or above ``min_severity``.

    Args:
        entries: the word list.
        min_severity: entries below it are ignored.
        allow: words or phrases never to censor, whatever rule would match them; a word
            also covers its regular inflections ("hell" allows "hells").
    """

    def __init__(
        self, entries: Sequence[WordEntry], min_severity: str = "low", allow: Iterable[str] = ()
    ) -> None:
        threshold = severity_rank(min_severity)
        allow_words: set[str] = set()
        allow_phrases: set[tuple[str, ...]] = set()
        for item in allow:
            words = _spelling_words(item)
            if len(words) == 1:
                allow_words.add(words[0])
            elif words:
                allow_phrases.add(words)
        self._allowed = _expand(allow_words)
        self._allowed_phrases: dict[str, list[tuple[str, ...]]] = {}
        for words in allow_phrases:
            self._allowed_phrases.setdefault(words[0], []).append(words)

        # One word per key: the listed spellings, then what the rules derive from them.
        self._explicit: dict[str, _Hit] = {}
        derived: dict[str, _Hit] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], _Hit]]] = {}
        for entry in entries:
            rank = severity_rank(entry.severity)
            if rank < threshold:
                continue
            for n, spelling in enumerate((entry.word, *entry.variations)):
                rule = "exact" if n == 0 else "variation"
                words = _spelling_words(spelling)
                if len(words) == 1:
                    self._add_word(entry, rank, rule, words[0], derived, base_entry=n == 0)
                elif words:
                    self._add_phrase(entry, rank, words, derived)
        unlisted = _GUARD | self._allowed
        self._derived = {k: h for k, h in derived.items() if k not in unlisted}
        self._max_phrase = max((len(w) for p in self._phrases.values() for w, _ in p), default=1)
        # Compound parts: a listed spelling on the left, any listed or derived form on the right.
        self._lefts = {
            k: h
            for k, h in self._explicit.items()
            if len(k) >= _MIN_STEM and k.isalpha() and k not in self._allowed
        }
        self._rights = {
            k: h
            for k, h in (self._explicit | self._derived).items()
            if len(k) >= _MIN_STEM and k.isalpha() and k not in unlisted
        }
        self._heads = _expand(_HEADS)
        # Masked tokens are fitted against every plain word of the same length.
        self._by_length: dict[int, list[_Hit]] = {}
        for key, hit in self._rights.items():
            self._by_length.setdefault(len(key), []).append(hit)
        self._reads: dict[str, _Read] = {}
        self._mask_cache: dict[str, _Hit | None] = {}

    # -- building ---------------------------------------------------------------------

    def _add_word(
        self,
        entry: WordEntry,
        rank: int,
        rule: str,
        key: str,
        derived: dict[str, _Hit],
        *,
        base_entry: bool,
    ) -> None:
        _keep(self._explicit, key, _Hit(entry, rule, key, key, rank))
        # Variations take only plurals: they include irregular forms ("shat" must not
        # become "shatter") and misspellings; the listed word takes every suffix.
        forms = _inflections(key) if base_entry else _plurals(key)
        for form in forms:
            _keep(derived, form, _Hit(entry, "inflection", form, key, rank))

    def _add_phrase(
        self, entry: WordEntry, rank: int, words: tuple[str, ...], derived: dict[str, _Hit]
    ) -> None:
        joined = "".join(words)
        variants = {words}
        variants |= {(*words[:-1], form) for form in _inflections(words[-1])}
        for variant in variants:
            # Whisper may write the phrase as one word: "motherfucker" for "mother fucker".
            squashed = "".join(variant)
            _keep(derived, squashed, _Hit(entry, "compound", squashed, joined, rank))
        variants |= {(form, *words[1:]) for form in _inflections(words[0])}
        for variant in variants:
            hit = _Hit(entry, "phrase", " ".join(variant), joined, rank)
            bucket = self._phrases.setdefault(variant[0], [])
            for i, (other, current) in enumerate(bucket):
                if other == variant:
                    if rank > current.rank:
                        bucket[i] = (variant, hit)
                    break
            else:
                bucket.append((variant, hit))

    # -- reading one word -------------------------------------------------------------

    def _lookup(self, key: str) -> _Hit | None:
        """What one word (no spaces or hyphens) matches, by the most literal rule."""
        hit = self._explicit.get(key) or self._derived.get(key)
        if hit is not None or key in _GUARD or key in self._allowed:
            return hit
        if "*" in key:
            return self._masked(key)
        return self._compound(key)

    def _masked(self, key: str) -> _Hit | None:
        """A masked word stands for the most severe listed form its letters and length fit."""
        if key not in self._mask_cache:
            best: _Hit | None = None
            if _visible(key):
                for hit in self._by_length.get(len(key), ()):
                    if _fits(key, hit.spelling) and (best is None or _better(hit, best)):
                        best = hit
                if best is not None:
                    best = _Hit(best.entry, "masked", best.spelling, best.base, best.rank)
                else:
                    best = self._compound(key)
            self._mask_cache[key] = best
        return self._mask_cache[key]

    def _part(self, table: dict[str, _Hit], part: str) -> _Hit | None:
        if "*" not in part:
            return table.get(part)
        if not _visible(part):
            return None
        fitted = [h for h in table.values() if _fits(part, h.spelling)]
        return max(fitted, key=lambda h: (h.rank, h.rule != "inflection"), default=None)

    def _compound(self, key: str) -> _Hit | None:
        """A listed word joined whole to another listed word or a common modifier or head."""
        if not (key.isalpha() or "*" in key) or len(key) < 2 * _MIN_STEM:
            return None
        best: _Hit | None = None
        for cut in range(_MIN_STEM, len(key) - _MIN_STEM + 1):
            left, right = key[:cut], key[cut:]
            left_hit = self._part(self._lefts, left)
            right_hit = self._part(self._rights, right)
            if left_hit is None and right_hit is None:
                continue
            if left_hit is None and left not in _MODIFIERS:
                continue
            if right_hit is None and right not in self._heads:
                continue
            hits = [h for h in (left_hit, right_hit) if h is not None]
            hit = max(hits, key=lambda h: (h.rank, len(h.base)))
            found = _Hit(hit.entry, "compound", key, hit.base, hit.rank)
            if best is None or (found.rank, len(found.base)) > (best.rank, len(best.base)):
                best = found
        return best

    def _read(self, norm: str) -> _Read:
        if norm in self._reads:
            return self._reads[norm]
        pieces = [p.strip("'") for p in _SEPARATORS.split(norm)]
        pieces = [p for p in pieces if p]
        whole = "".join(pieces)
        keys: list[str] = [whole] if whole else []
        clitic = _CLITIC.match(whole)
        if clitic:
            keys.append(clitic.group(1))  # "bitch's", "shit'll"; never "he'll" -> "hell"
        allowed = any(k in self._allowed for k in keys)
        hit = None
        for key in keys:
            hit = self._lookup(key)
            if hit is not None:
                break
        if hit is None and len(pieces) > 1 and whole not in _GUARD:
            for part in pieces:  # "fuck-you", "hell-bent"
                read = self._read(part)
                if read.hit is not None and not read.allowed:
                    hit = read.hit
                    break
        read = _Read(tuple(keys), allowed, hit)
        self._reads[norm] = read
        return read

    # -- reading runs of words --------------------------------------------------------

    def _phrase_at(self, reads: list[_Read], blocked: list[bool], i: int) -> tuple[int, _Hit]:
        best: tuple[int, _Hit] = (0, _NO_HIT)
        candidates: list[tuple[tuple[str, ...], _Hit]] = []
        for key in reads[i].keys:
            if "*" in key:
                candidates.extend(p for bucket in self._phrases.values() for p in bucket)
            else:
                candidates.extend(self._phrases.get(key, ()))
        for words, hit in candidates:
            n = len(words)
            if n <= best[0] and not (n == best[0] and hit.rank > best[1].rank):
                continue
            if i + n > len(reads) or any(blocked[i : i + n]):
                continue
            if all(_word_fits(reads[i + k].keys, words[k]) for k in range(n)):
                best = (n, hit)
        return best

    def _join_at(self, reads: list[_Read], i: int) -> _Hit | None:
        """Two tokens Whisper split from one listed word: "mother fucker", "ass hole"."""
        if i + 1 >= len(reads) or not reads[i].keys or not reads[i + 1].keys:
            return None
        if reads[i].hit is None and reads[i + 1].hit is None:
            return None  # "a hole" is not "ahole", "hard on" is not "hardon"
        head = reads[i].keys[0]
        for tail in reads[i + 1].keys:
            joined = head + tail
            if joined in self._allowed:
                return None
            hit = self._explicit.get(joined) or self._derived.get(joined)
            if hit is None and "*" in joined:
                hit = self._masked(joined)
                hit = hit if hit is not None and hit.rule == "masked" else None
            # The listed word must reach into the second token: "ass in" is not "assin".
            if hit is not None and len(hit.base) > len(head):
                return _Hit(hit.entry, "compound", joined, hit.base, hit.rank)
        return None

    def _blocked(self, reads: list[_Read]) -> list[bool]:
        blocked = [r.allowed for r in reads]
        if self._allowed_phrases:
            for i, read in enumerate(reads):
                for key in read.keys:
                    for words in self._allowed_phrases.get(key, ()):
                        n = len(words)
                        window = reads[i : i + n]
                        if len(window) == n and all(
                            _word_fits(r.keys, w) for r, w in zip(window, words, strict=True)
                        ):
                            blocked[i : i + n] = [True] * n
        return blocked

    def match(self, tokens: Sequence[Token]) -> list[Match]:
        """Returns the matches in order, longest run first at each position, none overlapping."""
        reads = [self._read(normalize_token(t.text)) for t in tokens]
        blocked = self._blocked(reads)
        matches: list[Match] = []
        i = 0
        while i < len(tokens):
            if blocked[i] or not reads[i].keys:
                i += 1
                continue
            n, hit = self._phrase_at(reads, blocked, i)
            found: _Hit | None = hit if n else None
            if not n and i + 1 < len(tokens) and not blocked[i + 1]:
                joined = self._join_at(reads, i)
                if joined is not None:
                    n, found = 2, joined
            if found is None and reads[i].hit is not None:
                n, found = 1, reads[i].hit
            if found is None:
                i += 1
                continue
            run = tokens[i : i + n]
            matches.append(
                Match(
                    first=i,
                    last=i + n - 1,
                    start=run[0].start,
                    end=run[-1].end,
                    entry=found.entry,
                    text=" ".join(t.text.strip() for t in run),
                    rule=found.rule,
                    spelling=found.spelling,
                )
            )
            i += n
        return matches


_NO_HIT = _Hit(WordEntry(word=""), "exact", "", "", -1)


def _keep(table: dict[str, _Hit], key: str, hit: _Hit) -> None:
    # Where two entries share a spelling, the more severe one names the match.
    current = table.get(key)
    if current is None or hit.rank > current.rank:
        table[key] = hit


def _better(hit: _Hit, than: _Hit) -> bool:
    """More severe first; among equals a listed spelling before a derived one."""
    return (hit.rank, hit.rule != "inflection") > (than.rank, than.rule != "inflection")


def _word_fits(keys: tuple[str, ...], word: str) -> bool:
    return any(k == word or ("*" in k and _visible(k) and _fits(k, word)) for k in keys)
