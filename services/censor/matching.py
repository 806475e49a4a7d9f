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
# word, for the default list and the words generic lists add ("butt", "tit", "bum"): verb
# senses of a listed noun ("cocked", "pricked"), unrelated words that happen to spell an
# inflection ("tardy", "monger", "shaggy", "butter"), names ("Cummings", "Lesbos"), idioms
# whose hyphenated parts are listed ("tit-for-tat") and one compound of two listed forms
# ("assassin" = "ass" + "assin"). Each also covers its own regular inflections. They give
# way to an explicit listing: a list that names "cocky" still censors it. Substrings need
# no entry here: the rules never match inside a word (class, Scunthorpe, cocktail).
CLEAN_WORDS: frozenset[str] = frozenset(
    {
        "assassin",
        "bloodied",
        "bloodies",
        "bloodying",
        "bumbag",
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
        "dicky",
        "fagged",
        "fagging",
        "heller",
        "hoedown",
        "knobby",
        "lesbos",
        "mingy",
        "monger",
        "poofy",
        "pricked",
        "pricker",
        "pricking",
        "retarding",
        "shaggy",
        "spunky",
        "tardy",
        "titfortat",
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
        "storm", "sucker", "wad", "waffle", "wipe", "wit",
    }
)  # fmt: skip

# A listed word shorter than this takes no suffixes and never joins a compound, so a list
# with "ho" does not match "hoes" or "hole".
_MIN_STEM = 3
# An agent noun this long is a compound ("motherfucker", "cocksucker"); its verb stem
# takes verb endings too ("motherfucking"). Short ones do not: "tosser" is not "tossing".
_MIN_AGENT = 8
# No spoken word is longer; a longer token (a URL, a run of symbols) is not split for compounds.
_MAX_COMPOUND = 32
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
    if not folded.isascii():
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


def _is_mask(key: str) -> bool:
    """Whisper's masks show the first letter ("f***", "sh*t", "a**hole"); "****" and "*s*"
    could stand for anything."""
    return "*" in key and key[0].isalnum()


def _vowel_stems(base: str) -> set[str]:
    """The stems a vowel suffix joins: "shit" -> "shitt", "spic" -> "spick", "fuck" -> "fuck".

    A final consonant after a single vowel doubles. Past one syllable that depends on stress
    ("bullshitting", "visiting"), so a longer word takes both spellings.
    """
    if base.endswith("c"):
        return {base + "k"}
    last, vowel, before = base[-1], base[-2], base[-3]
    if (
        last in _VOWELS
        or last in "wxy"
        or vowel not in _VOWELS
        or before in _VOWELS
        or before == "q"
    ):
        return {base}
    if len(re.findall(r"[aeiouy]+", base)) == 1:
        return {base + last}
    return {base, base + last}


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
        return forms | {stem + e for e in ("ing", "in", "y")}  # not "rapier" from "rape"
    if base[-1] in _VOWELS:
        return {base + "s", base + "es"}  # "dildos", "dagoes"
    stems = _vowel_stems(base)
    if base.endswith(("s", "sh", "ch", "x", "z")):
        forms = {stem + "es" for stem in stems}  # "bitches", "spazzes"
    else:
        forms = {base + "s"}
    forms |= {stem + suffix for stem in stems for suffix in _VERB_SUFFIXES}
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


def _past(key: str) -> set[str]:
    return {key + "d"} if key.endswith("e") else {stem + "ed" for stem in _vowel_stems(key)}


def _verb_forms(key: str) -> set[str]:
    """The verb forms a phrase's first word takes: "jerks", "jerked", "jerking", "jerkin"."""
    forms = _inflections(key)
    return {f for f in forms if f.endswith(("s", "ed", "d", "ing", "in")) and f[-2:] != "rs"}


def _keep(table: dict[str, _Hit], key: str, hit: _Hit) -> None:
    # Where two entries share a spelling, the more severe one names the match.
    current = table.get(key)
    if current is None or hit.rank > current.rank:
        table[key] = hit


def _shape(word: str) -> tuple[int, str]:
    return len(word), word[:1]


def _by_shape(hits: Iterable[_Hit]) -> dict[tuple[int, str], list[_Hit]]:
    """Hits by length and first letter, the two things every mask shows."""
    table: dict[tuple[int, str], list[_Hit]] = {}
    for hit in hits:
        table.setdefault(_shape(hit.spelling), []).append(hit)
    return table


def _best_fit(mask: str, hits: Iterable[_Hit] | None) -> _Hit | None:
    """The most severe hit whose spelling the mask fits; among equals a listed spelling."""
    if not _is_mask(mask) or hits is None:
        return None
    fitted = (h for h in hits if _fits(mask, h.spelling))
    return max(fitted, key=lambda h: (h.rank, h.rule in ("exact", "variation")), default=None)


@dataclass(frozen=True)
class _Cut:
    """A word Whisper wrote cut off: its letters, and 1 where the dash is a token of its own."""

    letters: str
    dash: int


# A cut-off word: letters, then a dash or dots ("b-", "b—", "b...", "b…"), or a token of them.
_CUT = re.compile(r"^([^\W\d_]+)(?:-+|\.{2,}|\u2026)$")
_CUT_MARK = re.compile(r"^(?:-+|\.{2,}|\u2026)$")


def _cut(tokens: Sequence[Token], k: int) -> _Cut | None:
    """Token ``k`` as a cut-off word, if Whisper wrote it as one."""
    text = _folded(tokens[k].text)
    found = _CUT.match(text)
    if found is not None:
        return _Cut(found.group(1), 0)
    if text.isalpha() and k + 1 < len(tokens) and _CUT_MARK.match(_folded(tokens[k + 1].text)):
        return _Cut(text, 1)
    return None


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_FOLD).strip().casefold()


def _word_fits(keys: tuple[str, ...], word: str) -> bool:
    return any(k == word or (_is_mask(k) and _fits(k, word)) for k in keys)


_GUARD = _expand(CLEAN_WORDS)
_HEAD_NOUNS = frozenset(form for h in _HEADS for form in (h, *_plurals(h)))
_HEAD_FORMS = _HEAD_NOUNS | {form for h in _HEADS for form in _past(h)}  # "shitfaced"


class Matcher:
    """Reads transcribed tokens against one word list.

    Everything the rules derive is worked out here, once per job, so ``match`` costs a few
    dictionary look-ups per token.

    Args:
        entries: the word list.
        min_severity: entries below it are never matched; they still mark compound parts,
            so "ass hole" is found as "asshole" (medium) with "ass" (low) below the bar.
        allow: words or phrases never to censor, whatever rule would match them; a word
            also covers its regular inflections ("hell" allows "hells").
    """

    def __init__(
        self, entries: Sequence[WordEntry], min_severity: str = "low", allow: Iterable[str] = ()
    ) -> None:
        self._threshold = severity_rank(min_severity)
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
            for n, spelling in enumerate((entry.word, *entry.variations)):
                rule = "exact" if n == 0 else "variation"
                words = _spelling_words(spelling)
                if len(words) == 1:
                    self._add_word(entry, rank, rule, words[0], derived, base_entry=n == 0)
                elif words:
                    self._add_phrase(entry, rank, words, derived)
        unlisted = _GUARD | self._allowed
        self._derived = {k: h for k, h in derived.items() if k not in unlisted}
        # Compound parts, of any severity: a listed spelling on the left, any listed or
        # derived form on the right.
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
        # Masked words and parts are fitted against the plain words of their shape.
        self._by_shape = _by_shape(h for h in self._rights.values() if h.rank >= self._threshold)
        self._lefts_by_shape = _by_shape(self._lefts.values())
        self._rights_by_shape = _by_shape(self._rights.values())
        self._masked_phrases: dict[tuple[int, str], list[tuple[tuple[str, ...], _Hit]]] = {}
        for first, phrases in self._phrases.items():
            self._masked_phrases.setdefault(_shape(first), []).extend(phrases)
        # Every phrase by its letters alone, for tokens that split it elsewhere ("son ofa bitch").
        self._squashed_phrases = [
            ("".join(words), words, hit)
            for phrases in self._phrases.values()
            for words, hit in phrases
        ]
        self._texts: dict[str, _Read] = {}
        self._reads: dict[str, _Read] = {}
        self._fits: dict[str, _Hit | None] = {}

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
        if rank < self._threshold:
            return
        joined = "".join(words)
        # Noun phrases take a plural ("blow jobs"), verb phrases a verb form ("jerking off").
        variants = {words} | {(*words[:-1], form) for form in _plurals(words[-1])}
        for variant in variants:
            # Whisper may write the phrase as one word: "motherfucker" for "mother fucker".
            squashed = "".join(variant)
            _keep(derived, squashed, _Hit(entry, "compound", squashed, joined, rank))
        variants |= {(form, *words[1:]) for form in _verb_forms(words[0])}
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
        hit = self._listed(key)
        if hit is not None or key in _GUARD or key in self._allowed:
            return hit
        if "*" not in key:
            return self._compound(key)
        hit = self._fit(key) or self._compound(key)  # "a**hat": a masked part of a compound
        return None if hit is None else _Hit(hit.entry, "masked", hit.spelling, hit.base, hit.rank)

    def _listed(self, key: str) -> _Hit | None:
        """A listed spelling, or failing that a derived one, at or above the threshold."""
        for hit in (self._explicit.get(key), self._derived.get(key)):
            if hit is not None and hit.rank >= self._threshold:
                return hit
        return None

    def _fit(self, mask: str) -> _Hit | None:
        """A masked word stands for the most severe listed form its letters and length fit."""
        if mask not in self._fits:
            self._fits[mask] = _best_fit(mask, self._by_shape.get(_shape(mask)))
        return self._fits[mask]

    def _left(self, part: str) -> _Hit | None:
        if "*" not in part:
            return self._lefts.get(part)
        return self._explicit.get(part) or _best_fit(part, self._lefts_by_shape.get(_shape(part)))

    def _right(self, part: str) -> _Hit | None:
        if "*" not in part:
            return self._rights.get(part)
        return self._explicit.get(part) or _best_fit(part, self._rights_by_shape.get(_shape(part)))

    def _compound(self, key: str) -> _Hit | None:
        """A listed word joined whole to another listed word or a common modifier or head."""
        if not (key.isalpha() or _is_mask(key)) or not 2 * _MIN_STEM <= len(key) <= _MAX_COMPOUND:
            return None
        best: _Hit | None = None
        for cut in range(_MIN_STEM, len(key) - _MIN_STEM + 1):
            left, right = key[:cut], key[cut:]
            left_hit = self._left(left)
            right_hit = self._right(right)
            if left_hit is None and right_hit is None:
                continue
            if left_hit is None and left not in _MODIFIERS:
                continue
            if right_hit is None and right not in _HEAD_FORMS:
                continue
            hits = [h for h in (left_hit, right_hit) if h and h.rank >= self._threshold]
            if not hits:
                continue
            hit = max(hits, key=lambda h: (h.rank, len(h.base)))
            found = _Hit(hit.entry, "compound", key, hit.base, hit.rank)
            if best is None or (found.rank, len(found.base)) > (best.rank, len(best.base)):
                best = found
        return best

    def _token(self, text: str) -> _Read:
        read = self._texts.get(text)
        if read is None:
            read = self._texts[text] = self._read(normalize_token(text))
        return read

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
            for part in pieces:  # "fuck-you", "hell-bent"; never "ho-hum" for a listed "ho"
                if len(part) < _MIN_STEM:
                    continue
                read = self._read(part)
                if read.hit is not None and not read.allowed:
                    hit = read.hit
                    break
        read = _Read(tuple(keys), allowed, hit)
        self._reads[norm] = read
        return read

    # -- reading runs of words --------------------------------------------------------

    def _phrase_at(
        self, tokens: Sequence[Token], reads: list[_Read], blocked: list[bool], i: int
    ) -> tuple[int, _Hit] | None:
        """The longest multi-word spelling that starts at token ``i``, the most severe of equals;
        else one with its last word cut off, or written with its words run together."""
        best: tuple[int, _Hit] | None = None
        candidates: list[tuple[tuple[str, ...], _Hit]] = []
        for key in reads[i].keys:
            if _is_mask(key):
                bucket = self._masked_phrases.get(_shape(key), ())
                candidates.extend(p for p in bucket if _fits(key, p[0][0]))
            else:
                candidates.extend(self._phrases.get(key, ()))
        for words, hit in candidates:
            n = len(words)
            if best is not None and (n, hit.rank) <= (best[0], best[1].rank):
                continue
            if i + n > len(reads) or any(blocked[i : i + n]):
                continue
            if all(_word_fits(reads[i + k].keys, words[k]) for k in range(n)):
                best = (n, hit)
        return (
            best
            or self._cut_at(candidates, tokens, reads, blocked, i)
            or self._resplit_at(reads, blocked, i)
        )

    def _cut_at(
        self,
        candidates: list[tuple[tuple[str, ...], _Hit]],
        tokens: Sequence[Token],
        reads: list[_Read],
        blocked: list[bool],
        i: int,
    ) -> tuple[int, _Hit] | None:
        """A phrase whose last word Whisper cut off ("son of a b-", "son of a b..."): the
        letters before the dash or dots begin that word, the other words are there in full."""
        best: tuple[int, _Hit] | None = None
        most = (0, -1)  # the best one's words and rank
        for words, hit in candidates:
            n = len(words)
            cut = _cut(tokens, i + n - 1) if i + n <= len(tokens) else None
            if (
                cut is None
                or not words[-1].startswith(cut.letters)
                or any(blocked[i : i + n + cut.dash])
                or not all(_word_fits(reads[i + k].keys, words[k]) for k in range(n - 1))
            ):
                continue
            if (n, hit.rank) > most:
                most = (n, hit.rank)
                best = (n + cut.dash, _Hit(hit.entry, "masked", hit.spelling, hit.base, hit.rank))
        return best

    def _resplit_at(
        self, reads: list[_Read], blocked: list[bool], i: int
    ) -> tuple[int, _Hit] | None:
        """A phrase whose words Whisper ran together or cut elsewhere: "son ofa bitch",
        "sonof a bitch". The tokens from ``i``, spaces dropped, must spell it exactly, in at
        least two tokens (one token is a compound, see ``_add_phrase``)."""
        best: tuple[int, _Hit] | None = None
        for squashed, _, hit in self._squashed_phrases:
            spelled, k = "", i
            while k < len(reads) and not blocked[k] and reads[k].keys:
                spelled += reads[k].keys[0]
                k += 1
                if not squashed.startswith(spelled) or spelled == squashed:
                    break
            n = k - i
            if spelled == squashed and n >= 2 and (best is None or hit.rank > best[1].rank):
                best = (n, hit)
        return best

    def _join_at(self, reads: list[_Read], i: int) -> _Hit | None:
        """Two tokens Whisper split from one listed word: "mother fucker", "ass hole".

        The first token must be a whole listed word or modifier and the second a whole
        listed word or head, so "a hole" is not "ahole", "fuck in" not "fuckin" and "shit,
        Ted" not "shitted"; and the two together must spell a listed word or its inflection.
        """
        if i + 1 >= len(reads) or not reads[i].keys or not reads[i + 1].keys:
            return None
        head = reads[i].keys[0]
        left = self._left(head)
        if left is None and head not in _MODIFIERS:
            return None
        for tail in reads[i + 1].keys:
            right = self._right(tail)
            if right is None and (left is None or tail not in _HEAD_NOUNS):
                continue  # a head joins as a noun only: "shit heads", not "Dick headed"
            joined = head + tail
            if joined in self._allowed:
                return None
            hit = self._listed(joined)
            if hit is None and ("*" in head) != ("*" in tail):  # one masked: "mother f***er"
                hit = self._fit(joined)
            if hit is not None:
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
        reads = [self._token(t.text) for t in tokens]
        blocked = self._blocked(reads)
        matches: list[Match] = []
        i = 0
        while i < len(tokens):
            if blocked[i] or not reads[i].keys:
                i += 1
                continue
            found = self._phrase_at(tokens, reads, blocked, i)
            if found is None and i + 1 < len(tokens) and not blocked[i + 1]:
                joined = self._join_at(reads, i)
                found = None if joined is None else (2, joined)
            single = reads[i].hit
            if found is None and single is not None:
                found = (1, single)
            if found is None:
                i += 1
                continue
            n, hit = found
            run = tokens[i : i + n]
            matches.append(
                Match(
                    first=i,
                    last=i + n - 1,
                    start=run[0].start,
                    end=run[-1].end,
                    entry=hit.entry,
                    text=" ".join(t.text.strip() for t in run),
                    rule=hit.rule,
                    spelling=hit.spelling,
                )
            )
            i += n
        return matches
