"""The matching core: every form of every listed word, and nothing inside a clean word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.censor.matching import CLEAN_WORDS, RULES, Matcher, Token, normalize_token
from services.common.wordlists import WordEntry, make_entry, severity_rank

SEED_PATH = (
    Path(__file__).resolve().parents[2] / "services" / "catalog" / "seed" / "english_general.json"
)
SEED = [
    make_entry(word, **details)
    for word, details in json.loads(SEED_PATH.read_text(encoding="utf-8"))["words"].items()
]


def _bare(*words: tuple[str, str]) -> list[WordEntry]:
    return [make_entry(word, severity=severity) for word, severity in words]


# Base words only, no variations: every inflection, compound and mask below comes from rules.
BARE = _bare(
    ("fuck", "high"),
    ("shit", "medium"),
    ("ass", "low"),
    ("bitch", "medium"),
    ("hell", "low"),
    ("damn", "low"),
    ("dick", "medium"),
    ("cock", "high"),
    ("cum", "medium"),
    ("cunt", "extreme"),
    ("prick", "medium"),
    ("crap", "low"),
    ("piss", "low"),
    ("tit", "medium"),
    ("rape", "high"),
    ("tard", "high"),
    ("son of a bitch", "medium"),
    ("blow job", "high"),
    ("motherfucker", "extreme"),
    ("bullshit", "medium"),
    ("asshole", "medium"),
    ("dumbass", "low"),
)
# Words that generic lists often carry besides the seed's: they make more clean words traps.
EXTRA = _bare(
    ("rapist", "high"),
    ("butt", "low"),
    ("anal", "medium"),
    ("homo", "high"),
    ("hoe", "medium"),
    ("bum", "low"),
    ("knob", "low"),
    ("spunk", "medium"),
    ("sod", "low"),
    ("git", "low"),
    ("sex", "low"),
    ("penis", "medium"),
    ("willy", "low"),
)

# Common clean words that contain a listed word or variation; none may be censored.
CLEAN = """
assassin assassins assassinate assassination class classes classic classical classify classroom
bass bassist brass grass grasses glass glasses mass masses massive pass passes passage passenger
passion passive password compass embarrass embarrassed harass harassment assume assumption assist
assistant assistance asset assets assess assessment assign assignment associate association
assault assemble assembly assert assertive assure assurance ambassador amass carcass morass lass
lasso sassy cassette casserole massage molasses trespass bypass overpass hourglass passed passing
passport classmate classy grassy glassy bassoon chassis tassel vassal lassie assorted assuage
Dickens Dickinson dickey Scunthorpe shell shells shellfish seashell eggshell nutshell bombshell
hello hellos Othello hellebore Michelle shellac Hellenic cocktail cocktails cockpit cockroach
cockatoo cockerel cockney cockle cocky cocked cocking peacock Hancock Hitchcock shuttlecock
stopcock woodcock weathercock poppycock cocksure cockscomb therapist therapeutic grape grapes
grapefruit drape drapes scrape scraper skyscraper trapeze parapet document documents documentary
cumulative accumulate cucumber circumstance circumference cumbersome scum locum capsicum Cummings
incumbent acumen cumin titan titanic titanium title titles titter petite appetite competition
constitution institution entitled attitude altitude gratitude stitch stitches stitched titmouse
tithe titular titillate destitute repetition superstition shiitake shitake pricked pricking
prickly prickle pinprick arsenal arsenic parse sparse coarse hoarse hearse rehearse analysis
analyst canal banal butter buttery button buttock buttress rebuttal scuttlebutt debugger
bastardize scrap scrapped scrappy scraps spice spicy spices despicable suspicion suspicious
conspicuous hospice auspicious aspic raccoon cocoon tycoon among amongst mongoose mongrel monger
warmonger fishmonger ironmonger humongous Mongolia woodpecker woodpeckers squawk squawking
injunction Japan Japanese jape Pakistan Pakistani niggardly snigger sniggering custard mustard
leotard stardom tardy dastardly retardant sturdy sturdier swank swanky wankel saltwater
wristwatch spoof spoofing prate pratfall prattle sprat cuckoo cuckold pollywog swop digit digital
legitimate agitate homogeneous homosexual sophomore shoe shoes horseshoe whoever phoenix album
bumble bumblebee bummer bump bumper doorknob knobby spunky episode soda sodium rhapsody shaggy
sextant Sussex Essex Middlesex Penistone clitoris thorny gobbledygook pedagogy
""".split()


def _tokens(text: str) -> list[Token]:
    return [Token(f" {w}", i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(text.split())]


def _found(matcher: Matcher, text: str) -> list[tuple[str, str, str]]:
    """(the tokens that matched, the entry, the rule) for each match."""
    return [(m.text, m.word, m.rule) for m in matcher.match(_tokens(text))]


BARE_MATCHER = Matcher(BARE)
SEED_MATCHER = Matcher(SEED)

# (transcript, [(tokens matched, entry, rule)]) against BARE, one case per named example.
CASES = [
    # Unicode and case normalization, punctuation.
    ("FUCK", [("FUCK", "fuck", "exact")]),
    ("What the Fuck, man", [("Fuck,", "fuck", "exact")]),
    ("“Shit!”", [("“Shit!”", "shit", "exact")]),
    ("(damn)", [("(damn)", "damn", "exact")]),
    ("ｆｕｃｋ", [("ｆｕｃｋ", "fuck", "exact")]),  # fullwidth, folded by NFKC
    ("fu\u200bck", [("fu\u200bck", "fuck", "exact")]),  # a zero-width space inside
    ("Straße", []),
    # Apostrophes: a contraction is not a listed word; a clitic leaves its host.
    ("he'll", []),
    ("he’ll", []),
    ("she'll", []),
    ("we'll", []),
    ("hell's", [("hell's", "hell", "exact")]),
    ("bitch's", [("bitch's", "bitch", "exact")]),
    ("shit'll", [("shit'll", "shit", "exact")]),
    ("'fuck'", [("'fuck'", "fuck", "exact")]),
    ("fuckin'", [("fuckin'", "fuck", "inflection")]),
    ("fuckin’", [("fuckin’", "fuck", "inflection")]),
    ("bitches'", [("bitches'", "bitch", "inflection")]),
    # Inflections of listed words, spelled by rule.
    ("fucking", [("fucking", "fuck", "inflection")]),
    ("fucked", [("fucked", "fuck", "inflection")]),
    ("fucker", [("fucker", "fuck", "inflection")]),
    ("fuckers", [("fuckers", "fuck", "inflection")]),
    ("fucks", [("fucks", "fuck", "inflection")]),
    ("fuckery", [("fuckery", "fuck", "inflection")]),
    ("shitty", [("shitty", "shit", "inflection")]),
    ("shittier", [("shittier", "shit", "inflection")]),
    ("shittiest", [("shittiest", "shit", "inflection")]),
    ("shitting", [("shitting", "shit", "inflection")]),
    ("bitches", [("bitches", "bitch", "inflection")]),
    ("bitching", [("bitching", "bitch", "inflection")]),
    ("bitchy", [("bitchy", "bitch", "inflection")]),
    ("asses", [("asses", "ass", "inflection")]),
    ("damned", [("damned", "damn", "inflection")]),
    ("crappy", [("crappy", "crap", "inflection")]),
    ("pissed", [("pissed", "piss", "inflection")]),
    ("cumming", [("cumming", "cum", "inflection")]),
    ("titty", [("titty", "tit", "inflection")]),
    ("raped", [("raped", "rape", "inflection")]),
    ("assholes", [("assholes", "asshole", "inflection")]),
    ("dumbasses", [("dumbasses", "dumbass", "inflection")]),
    ("bullshitting", [("bullshitting", "bullshit", "inflection")]),
    ("motherfuckers", [("motherfuckers", "motherfucker", "inflection")]),
    ("motherfucking", [("motherfucking", "motherfucker", "inflection")]),
    ("motherfuckin'", [("motherfuckin'", "motherfucker", "inflection")]),
    # Compounds: a listed word joined whole to a listed word or a common word.
    ("horseshit", [("horseshit", "shit", "compound")]),
    ("dipshit", [("dipshit", "shit", "compound")]),
    ("shithead", [("shithead", "shit", "compound")]),
    ("shitfaced", [("shitfaced", "shit", "compound")]),
    ("jackass", [("jackass", "ass", "compound")]),
    ("smartass", [("smartass", "ass", "compound")]),
    ("half-assed", [("half-assed", "ass", "compound")]),
    ("asshat", [("asshat", "ass", "compound")]),
    ("dickhead", [("dickhead", "dick", "compound")]),
    ("fuckface", [("fuckface", "fuck", "compound")]),
    ("fuckwits", [("fuckwits", "fuck", "compound")]),
    ("clusterfuck", [("clusterfuck", "fuck", "compound")]),
    ("dumbfuck", [("dumbfuck", "fuck", "compound")]),
    ("cocksucker", [("cocksucker", "cock", "compound")]),
    ("bitchass", [("bitchass", "bitch", "compound")]),
    ("fuck-you", [("fuck-you", "fuck", "exact")]),
    # Substrings and look-alikes are not matches.
    ("assassin", []),
    ("class", []),
    ("bass", []),
    ("Dickens", []),
    ("Scunthorpe", []),
    ("shell", []),
    ("cocktail", []),
    ("therapist", []),
    ("document", []),
    ("cumulative", []),
    ("cumin", []),
    ("grape", []),
    ("rapier", []),
    ("hello", []),
    ("passage", []),
    ("assume", []),
    ("titan", []),
    ("titter", []),
    ("tardy", []),
    ("scrappy", []),
    ("cock-a-doodle-doo", []),
    # "prick" the verb is everyday English ("the dog pricked up its ears"); only the noun
    # insult is censored, and it has no past tense.
    ("pricked", []),
    ("pricking", []),
    ("pricks", [("pricks", "prick", "inflection")]),
    # Multi-word entries across tokens; Whisper's splits and merges.
    ("you son of a bitch", [("son of a bitch", "son of a bitch", "phrase")]),
    ("sons of a bitch", [("sons of a bitch", "son of a bitch", "phrase")]),
    ("a blow job", [("blow job", "blow job", "phrase")]),
    ("two blow jobs", [("blow jobs", "blow job", "phrase")]),
    ("blowjob", [("blowjob", "blow job", "compound")]),
    ("sonofabitch", [("sonofabitch", "son of a bitch", "compound")]),
    ("son ofa bitch.", [("son ofa bitch.", "son of a bitch", "phrase")]),
    ("sonof a bitch", [("sonof a bitch", "son of a bitch", "phrase")]),
    ("a son ofa bit", []),
    ("son-of-a-bitch", [("son-of-a-bitch", "son of a bitch", "compound")]),
    ("you mother fucker", [("mother fucker", "motherfucker", "compound")]),
    ("mother fucking", [("mother fucking", "motherfucker", "compound")]),
    ("what an ass hole", [("ass hole", "asshole", "compound")]),
    ("ass holes", [("ass holes", "asshole", "compound")]),
    ("that's bull shit", [("bull shit", "bullshit", "compound")]),
    ("dumb ass", [("dumb ass", "dumbass", "compound")]),
    ("mother-fucker", [("mother-fucker", "motherfucker", "exact")]),
    # A split only joins listed parts: the clean neighbour stays audible.
    ("dig a hole", []),
    ("kick ass", [("ass", "ass", "exact")]),
    ("kicked my ass in the game", [("ass", "ass", "exact")]),
    ("what the fuck in here", [("fuck", "fuck", "exact")]),
    ("holy shit Ted", [("shit", "shit", "exact")]),
    ("my shit showed up", [("shit", "shit", "exact")]),
    # Whisper's masked output.
    ("f***", [("f***", "fuck", "masked")]),
    ("sh*t", [("sh*t", "shit", "masked")]),
    ("a**hole", [("a**hole", "asshole", "masked")]),
    ("f**king", [("f**king", "fuck", "masked")]),
    ("b*tch", [("b*tch", "bitch", "masked")]),
    ("s***", [("s***", "shit", "masked")]),
    ("F***!", [("F***!", "fuck", "masked")]),
    ("motherf***er", [("motherf***er", "motherfucker", "masked")]),
    ("bulls***", [("bulls***", "bullshit", "masked")]),
    ("a**hat", [("a**hat", "ass", "masked")]),
    ("mother f***er", [("mother f***er", "motherfucker", "compound")]),
    # A phrase's last word cut off, as Whisper writes a word the audio ends in.
    ("son of a b-", [("son of a b-", "son of a bitch", "masked")]),
    ("son of a b -", [("son of a b -", "son of a bitch", "masked")]),
    ("you son of a b...", [("son of a b...", "son of a bitch", "masked")]),
    ("son of a bi— stop", [("son of a bi—", "son of a bitch", "masked")]),
    ("a blow j…", [("blow j…", "blow job", "masked")]),
    ("son of a bitch-", [("son of a bitch-", "son of a bitch", "phrase")]),
    ("son of a b", []),
    ("son of a c-", []),
    ("son of b-", []),
    ("blow j", []),
    ("I w- wanted a blow dryer", []),
    ("rated ****", []),
    ("*s*", []),  # a mask shows its first letter; this could stand for anything
    ("*sigh*", []),
    ("*damn*", [("*damn*", "damn", "exact")]),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[text for text, _ in CASES])
def test_each_named_case(text, expected):
    assert _found(BARE_MATCHER, text) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Fuck,", "fuck"),
        ("“Shit!”", "shit"),
        ("fuckin’", "fuckin"),
        ("he’ll", "he'll"),
        ("F***", "f***"),
        ("a$$.", "a$$"),
        ("ＦＵＣＫ", "fuck"),
        ("...", ""),
    ],
)
def test_normalize_token(raw, expected):
    assert normalize_token(raw) == expected


def test_rules_are_the_documented_ones():
    matches = BARE_MATCHER.match(_tokens(" ".join(text for text, _ in CASES)))
    matches += SEED_MATCHER.match(_tokens("fucker"))
    assert {m.rule for m in matches} == set(RULES)


def test_a_match_carries_entry_severity_category_tokens_times_and_rule():
    [match] = BARE_MATCHER.match(_tokens("you son of a bitch"))
    assert (match.first, match.last, match.start, match.end) == (1, 4, 0.5, 2.4)
    assert (match.word, match.severity, match.category) == ("son of a bitch", "medium", "profanity")
    assert (match.rule, match.spelling, match.text) == (
        "phrase",
        "son of a bitch",
        "son of a bitch",
    )
    matcher = Matcher([make_entry("bitch", severity="high", category="insult")])
    [match] = matcher.match(_tokens("you bitches"))
    assert (match.word, match.severity, match.category) == ("bitch", "high", "insult")
    assert (match.first, match.last, match.rule, match.spelling) == (1, 1, "inflection", "bitches")


def test_a_split_word_spans_from_the_first_token_start_to_the_last_token_end():
    [match] = BARE_MATCHER.match(_tokens("you mother fucker"))
    assert (match.first, match.last, match.start, match.end) == (1, 2, 0.5, 1.4)


def test_a_merged_word_matches_a_multi_word_entry():
    matcher = Matcher(_bare(("mother fucker", "extreme"), ("bull shit", "medium")))
    assert _found(matcher, "motherfucker bullshit") == [
        ("motherfucker", "mother fucker", "compound"),
        ("bullshit", "bull shit", "compound"),
    ]
    assert _found(matcher, "mother fucker") == [("mother fucker", "mother fucker", "phrase")]


def test_a_two_letter_word_matches_only_alone():
    matcher = Matcher(_bare(("ho", "medium")))
    assert _found(matcher, "ho, hoes hole ho-hum ho-ho-ho") == [("ho,", "ho", "exact")]


def test_a_contraction_never_reads_as_the_word_without_its_apostrophe():
    matcher = Matcher(_bare(("well", "low"), ("hell", "low"), ("shell", "low")))
    assert _found(matcher, "we'll see, she'll go, he'll stay") == []
    assert _found(matcher, "well") == [("well", "well", "exact")]


def test_a_compound_of_a_listed_word_alone_takes_the_listed_word():
    matcher = Matcher(_bare(("fuck", "high")))
    assert _found(matcher, "motherfuckin' motherfucker") == [
        ("motherfuckin'", "fuck", "compound"),
        ("motherfucker", "fuck", "compound"),
    ]


def test_a_masked_word_stands_for_its_most_severe_candidate():
    matcher = Matcher(_bare(("shit", "medium"), ("slut", "medium"), ("spic", "extreme")))
    assert _found(matcher, "s***") == [("s***", "spic", "masked")]
    assert _found(Matcher(_bare(("shit", "medium"), ("spic", "extreme")), "high"), "s***") == [
        ("s***", "spic", "masked")
    ]
    assert _found(Matcher(_bare(("shit", "medium")), "high"), "s***") == []


def test_a_masked_spelling_the_list_names_is_that_entry():
    # Attribution follows the list; for min_severity the mask still counts as its most
    # severe fit, since an entry below the threshold is not a candidate at all.
    assert _found(SEED_MATCHER, "s*** f*** a**hole") == [
        ("s***", "shit", "variation"),
        ("f***", "fuck", "variation"),
        ("a**hole", "asshole", "variation"),
    ]
    assert _found(Matcher(SEED, "high"), "s*** f*** a**hole") == [
        ("s***", "spic", "masked"),
        ("f***", "fuck", "variation"),
    ]


def test_min_severity_threshold():
    text = "damn this shit, fuck, cunt"
    assert [w for _, w, _ in _found(Matcher(BARE, "low"), text)] == ["damn", "shit", "fuck", "cunt"]
    assert [w for _, w, _ in _found(Matcher(BARE, "medium"), text)] == ["shit", "fuck", "cunt"]
    assert [w for _, w, _ in _found(Matcher(BARE, "high"), text)] == ["fuck", "cunt"]
    assert [w for _, w, _ in _found(Matcher(BARE, "extreme"), text)] == ["cunt"]


def test_min_severity_applies_to_split_words_by_the_whole_word():
    # "ass" alone is low, "asshole" medium: split or not, the whole word decides.
    matcher = Matcher(BARE, "medium")
    assert _found(matcher, "ass hole, ass") == [("ass hole,", "asshole", "compound")]


def test_allowed_words_win_over_every_rule():
    matcher = Matcher(SEED, allow=["hell", "prick", "Hell's Kitchen", "spick and span"])
    assert _found(matcher, "hell hells Hell's prick pricks") == []
    assert _found(matcher, "hellhole") == []  # no compound reads an allowed word
    assert _found(matcher, "Hell's Kitchen, spick and span, spick") == [
        ("spick", "spic", "variation")
    ]
    # An allowed word is never inside a match: "bloody hell" is only "bloody".
    assert _found(matcher, "bloody hell") == [("bloody", "bloody", "exact")]


def test_an_allowed_word_beats_its_explicit_listing_and_its_inflections():
    matcher = Matcher(SEED, allow=["shag"])
    assert _found(matcher, "shag carpet, shagging, shags") == []
    assert _found(Matcher(SEED), "shag carpet") == [("shag", "shag", "exact")]


def test_a_clean_word_gives_way_to_an_explicit_listing():
    assert "cocky" in CLEAN_WORDS
    assert _found(Matcher(_bare(("cock", "high"))), "cocky") == []
    matcher = Matcher([make_entry("cock", severity="high", variations=["cocky"])])
    assert _found(matcher, "cocky") == [("cocky", "cock", "variation")]


def test_every_spelling_in_the_seeded_list_matches_its_entry():
    for entry in SEED:
        for spelling in (entry.word, *entry.variations):
            for text in (spelling, spelling.title() + ",", spelling.upper() + "!"):
                tokens = _tokens(text)
                matches = SEED_MATCHER.match(tokens)
                assert len(matches) == 1, (text, matches)
                [match] = matches
                assert (match.first, match.last) == (0, len(tokens) - 1), text
                # A spelling two entries share names the more severe one.
                assert match.entry == entry or severity_rank(match.severity) >= severity_rank(
                    entry.severity
                ), text


def test_every_seeded_word_matches_in_its_plural_and_possessive():
    for entry in SEED:
        # Words in -s are plurals already; words in -y are adjectives ("bloody", "horny").
        if entry.word.endswith(("s", "y")) or not entry.word.replace(" ", "").isalpha():
            continue
        plural = entry.word + ("es" if entry.word[-1] in "hxz" else "s")
        for text in (entry.word + "'s", plural):
            if text in CLEAN_WORDS:
                continue  # "lesbos" is the island
            assert [(m.first, m.last) for m in SEED_MATCHER.match(_tokens(text))] == [
                (0, len(entry.word.split()) - 1)
            ], text


@pytest.mark.parametrize(
    "word",
    ["rapier", "sexton", "bumbag", "bummer", "butter", "buttered", "knobby", "spunky", "willies"]
    + ["tit-for-tat", "hoedown", "hoe-down", "cocky", "cockiness", "tardiness", "warmongering"],
)
def test_words_the_rules_could_derive_from_a_listed_one_are_clean(word):
    assert _found(Matcher(BARE + EXTRA), word) == []


def test_the_clean_word_list_holds_only_words_that_contain_a_listed_one():
    listed = {s for e in SEED + BARE + EXTRA for s in (e.word, *e.variations) if s.isalpha()}
    assert len(CLEAN) == len(set(CLEAN)) >= 300
    assert [w for w in CLEAN if not any(s in w.lower() for s in listed)] == []


@pytest.mark.parametrize("entries", [SEED, BARE + EXTRA], ids=["seed", "bare"])
def test_no_clean_word_is_matched(entries):
    matcher = Matcher(entries)
    for variant in (str, str.upper, lambda w: f"{w.title()}.", lambda w: f"{w}'s"):
        text = " ".join(variant(w) for w in CLEAN)
        assert [m.text for m in matcher.match(_tokens(text))] == []


def test_clean_sentences_with_trap_words_keep_only_the_explicit_ones():
    text = (
        "The assassin in class played bass at the Dickens festival in Scunthorpe, then said "
        "hello to his therapist over a cocktail; we'll document the cumulative shell damage, "
        "he'll assume that passage was titanic. Oh shit, he's a jackass."
    )
    assert _found(SEED_MATCHER, text) == [
        ("shit,", "shit", "exact"),
        ("jackass.", "jackass", "exact"),
    ]


def test_a_long_transcript_is_matched_in_full():
    # Its speed is measured by benchmarks/censor_stages.py (matching), not timed here.
    words = (CLEAN + ["fuck", "mother", "fucker", "s***", "ass", "hole"]) * 40
    tokens = _tokens(" ".join(words))
    matches = Matcher(SEED).match(tokens)
    assert len(matches) == 4 * 40
    assert [m.text for m in matches[:4]] == ["fuck", "mother fucker", "s***", "ass hole"]
