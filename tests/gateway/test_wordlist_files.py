"""Unit tests for services.gateway.wordlist_files: export and import of word-list files."""

from __future__ import annotations

import json
import random

import pytest

from services.common.errors import InvalidArgument
from services.common.wordlists import WordEntry, make_entry
from services.gateway.wordlist_files import (
    FORMATS,
    MEDIA_TYPES,
    ListMeta,
    detect_format,
    export_filename,
    parse,
    read,
    serialize,
)

META = ListMeta(name="English (General)", description="Common words", language="en")

TRICKY = [
    make_entry("Fuck", severity="extreme", variations=["f***", "fck", "F*ck"], notes="the big one"),
    make_entry("sh*t", severity="high", variations=["sh1t", "shit"]),
    make_entry("son  of a  bitch", severity="high", category="insult"),
    make_entry("fuckin'", notes='she said "fuckin\'" twice'),
    make_entry("damn", severity="low", notes="mild | use | with care"),
    make_entry("bloody", severity="low", category="british", notes="a, b, and c"),
    make_entry("хуй", severity="extreme", category="russian", variations=["хуйня"]),
    make_entry("クソ", category="japanese", notes="日本語のメモ"),
    make_entry("Scheiße", category="german", notes="NFKC + casefold gives ss"),
    make_entry("#hashtag", notes="starts with a comment mark"),
    make_entry("\\#escaped", variations=["#x"]),
    make_entry("\\backslash"),
    make_entry("a\\b", notes="back\\slash"),
    make_entry("pipe-notes", notes="|"),
    make_entry("quotes", notes='"'),
    make_entry("sep-notes", notes="\u2028 and \x85 are not line breaks here"),
    make_entry("plain"),
]


def _json(data: bytes) -> object:
    return json.loads(data.decode("utf-8"))


def _error(data: bytes | str, fmt: str, **kwargs: int) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(InvalidArgument) as caught:
        parse(raw, fmt, **kwargs)
    return caught.value.message


# --- constants --------------------------------------------------------------


def test_formats_and_media_types() -> None:
    assert FORMATS == ("json", "csv", "txt")
    assert MEDIA_TYPES == {
        "json": "application/json",
        "csv": "text/csv; charset=utf-8",
        "txt": "text/plain; charset=utf-8",
    }


def test_list_meta_defaults() -> None:
    meta = ListMeta(name="x")
    assert (meta.description, meta.language) == ("", "en")


# --- round trip -------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_tricky_entries(fmt: str) -> None:
    data = serialize(TRICKY, fmt, META)
    parsed = parse(data, fmt)
    assert parsed == TRICKY
    assert serialize(parsed, fmt, META) == data


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_single_default_entry(fmt: str) -> None:
    entries = [make_entry("word")]
    data = serialize(entries, fmt, ListMeta(name=""))
    assert parse(data, fmt) == entries
    assert serialize(parse(data, fmt), fmt, ListMeta(name="")) == data


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_random_entries(fmt: str) -> None:
    rng = random.Random(1234)
    alphabet = "abcxyzé日*'!#\\-_ .$@ß"
    note_alphabet = alphabet + '|,"; \u2028'
    entries: dict[str, WordEntry] = {}
    while len(entries) < 300:
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        try:
            entry = make_entry(
                word,
                severity=rng.choice(["low", "medium", "high", "extreme"]),
                category=rng.choice(["profanity", "slur", "sexual", "my cat-1"]),
                variations=[
                    "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
                    for _ in range(rng.randint(0, 3))
                ],
                notes="".join(rng.choice(note_alphabet) for _ in range(rng.randint(0, 30))),
            )
        except InvalidArgument:
            continue  # e.g. a word of only spaces
        entries.setdefault(entry.word, entry)
    values = list(entries.values())
    data = serialize(values, fmt, META)
    assert parse(data, fmt) == values
    assert serialize(parse(data, fmt), fmt, META) == data


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_accepts_a_tuple(fmt: str) -> None:
    entries = tuple(TRICKY[:3])
    assert parse(serialize(entries, fmt, META), fmt) == list(entries)


# --- serialize: exact shapes ------------------------------------------------


def test_serialize_json_shape() -> None:
    entries = [
        make_entry("zebra", severity="high", variations=["zbr"], notes="n"),
        make_entry("apple"),
        make_entry("ñandú"),
    ]
    data = serialize(entries, "json", ListMeta("My list", "desc", "es"))
    assert data.endswith(b"}\n")
    assert "ñandú".encode() in data  # ensure_ascii=False
    assert b'\n  "name": "My list",\n' in data  # indent=2
    document = _json(data)
    assert document == {
        "name": "My list",
        "description": "desc",
        "language": "es",
        "allow": [],
        "words": {
            "zebra": {
                "severity": "high",
                "category": "profanity",
                "variations": ["zbr"],
                "notes": "n",
            },
            "apple": {
                "severity": "medium",
                "category": "profanity",
                "variations": [],
                "notes": "",
            },
            "ñandú": {
                "severity": "medium",
                "category": "profanity",
                "variations": [],
                "notes": "",
            },
        },
    }
    assert list(document["words"]) == ["zebra", "apple", "ñandú"]  # given order kept


def test_serialize_csv_exact() -> None:
    entries = [
        make_entry("shit", severity="high", variations=["sh*t", "sh1t"], notes='a, "b" | c'),
        make_entry("damn"),
    ]
    assert serialize(entries, "csv", META) == (
        b"word,severity,category,variations,notes\n"
        b'shit,high,profanity,sh*t|sh1t,"a, ""b"" | c"\n'
        b"damn,medium,profanity,,\n"
    )


def test_serialize_txt_exact() -> None:
    entries = [
        make_entry("shit", severity="high", variations=["sh*t", "sh1t"], notes="a | b"),
        make_entry("damn"),
    ]
    assert serialize(entries, "txt", META) == (
        b"# Clean-Tracks word list: English (General)\n"
        b"# language: en\n"
        b"# description: Common words\n"
        b"# allow:\n"
        b"# format: word | severity | category | variation1, variation2 | notes\n"
        b"shit | high | profanity | sh*t, sh1t | a | b\n"
        b"damn | medium | profanity |  |\n"
    )


def test_serialize_txt_keeps_metadata_on_comment_lines() -> None:
    meta = ListMeta(name="evil\nfuck | high", description="two\r\nlines\u2028more", language="e\tn")
    data = serialize([make_entry("damn")], "txt", meta)
    lines = data.decode().splitlines()
    assert lines[:3] == [
        "# Clean-Tracks word list: evil fuck | high",
        "# language: e n",
        "# description: two lines more",
    ]
    assert parse(data, "txt") == [make_entry("damn")]


def test_serialize_txt_escapes_words_starting_with_hash() -> None:
    entries = [make_entry("#x"), make_entry("\\#y"), make_entry("\\z")]
    body = serialize(entries, "txt", META).decode().splitlines()[5:]
    assert body == [
        "\\#x | medium | profanity |  |",
        "\\\\#y | medium | profanity |  |",
        "\\z | medium | profanity |  |",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_serialize_empty_list(fmt: str) -> None:
    data = serialize([], fmt, META)
    assert data.endswith(b"\n")
    assert _error(data, fmt) == "file holds no words"


def test_serialize_format_name_is_case_insensitive() -> None:
    assert serialize(TRICKY, " JSON ", META) == serialize(TRICKY, "json", META)


@pytest.mark.parametrize("fmt", ["xml", "", "JSONL", None, 3])
def test_serialize_unknown_format(fmt: object) -> None:
    with pytest.raises(InvalidArgument, match="unknown format"):
        serialize(TRICKY, fmt, META)  # type: ignore[arg-type]


# --- parse: common errors ---------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_parse_empty_file(fmt: str) -> None:
    assert _error(b"", fmt) == "file is empty"
    assert _error(b" \n\t\r\n", fmt) == "file is empty"
    assert _error(b"\xef\xbb\xbf", fmt) == "file is empty"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "data",
    [b"word\x00\n", b"\x89PNG\r\n\x1a\n\x00\x00", b"caf\xe9\n", b"\xff\xfe{\x00}\x00", b"\xc3"],
)
def test_parse_binary_file(fmt: str, data: bytes) -> None:
    assert _error(data, fmt) == "file is not UTF-8 text"


@pytest.mark.parametrize("fmt", ["xml", "", "yaml", None])
def test_parse_unknown_format(fmt: object) -> None:
    with pytest.raises(InvalidArgument, match="unknown format"):
        parse(b"word\n", fmt)  # type: ignore[arg-type]


def test_parse_format_name_is_case_insensitive() -> None:
    assert parse(b"damn\n", "TXT") == [make_entry("damn")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_parse_max_entries(fmt: str) -> None:
    entries = [make_entry(f"word{i}") for i in range(5)]
    data = serialize(entries, fmt, META)
    assert parse(data, fmt, max_entries=5) == entries
    assert _error(data, fmt, max_entries=4) == "file holds more than 4 words"


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("json", "{}"),
        ("json", "[]"),
        ("json", '{"name": "x", "words": {}}'),
        ("json", '{"name": "x", "words": []}'),
        ("csv", "word,severity\n"),
        ("csv", "\n\nWORD\n\n,\n"),
        ("txt", "# only\n# comments\n\n"),
    ],
)
def test_parse_no_words(fmt: str, data: str) -> None:
    assert _error(data, fmt) == "file holds no words"


@pytest.mark.parametrize("fmt", FORMATS)
def test_parse_tolerates_bom(fmt: str) -> None:
    data = serialize(TRICKY, fmt, META)
    assert parse(b"\xef\xbb\xbf" + data, fmt) == TRICKY


def test_parse_accepts_bytearray_and_memoryview() -> None:
    assert parse(bytearray(b"damn\n"), "txt") == [make_entry("damn")]
    assert parse(memoryview(b"damn\n"), "txt") == [make_entry("damn")]  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", FORMATS)
def test_parse_never_leaks_other_exceptions(fmt: str) -> None:
    """Mangled exports and random bytes yield entries or InvalidArgument, nothing else."""
    rng = random.Random(f"fuzz-{fmt}")
    valid = serialize(TRICKY, fmt, META)
    pieces = [b"{", b"}", b"[", b"]", b'"', b",", b"|", b"\n", b"\r", b"#", b"\\", b":", b"1"]
    pieces += [b"null", b"word", b"\xc3", b"\x00", b"\xef\xbb\xbf", b"severity", b"999e999"]
    for _ in range(1500):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data) + 1)
            action = rng.random()
            if action < 0.4:
                data[at:at] = rng.choice(pieces)
            elif action < 0.8:
                del data[at : at + rng.randint(1, 20)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        try:
            result = parse(bytes(data), fmt)
        except InvalidArgument:
            continue
        assert all(isinstance(entry, WordEntry) for entry in result)


# --- parse: json ------------------------------------------------------------


def test_json_bare_mapping_with_partial_details() -> None:
    data = """{
        "Fuck": {"severity": "extreme", "variations": ["f***"]},
        "damn": null,
        "shit": {},
        "crap": {"category": "Mild", "notes": "  spaced  "}
    }"""
    assert parse(data.encode(), "json") == [
        make_entry("fuck", severity="extreme", variations=["f***"]),
        make_entry("damn"),
        make_entry("shit"),
        make_entry("crap", category="mild", notes="spaced"),
    ]


def test_json_wrapper_with_mapping_ignores_metadata() -> None:
    data = {
        "name": "Other",
        "description": "d",
        "language": "fr",
        "version": 2,
        "words": {"merde": {"severity": "high"}},
    }
    assert parse(json.dumps(data).encode(), "json") == [make_entry("merde", severity="high")]


def test_json_wrapper_with_list() -> None:
    data = {
        "name": "x",
        "words": ["damn", {"word": "Shit", "severity": "high", "variations": ["sh*t"]}],
    }
    assert parse(json.dumps(data).encode(), "json") == [
        make_entry("damn"),
        make_entry("shit", severity="high", variations=["sh*t"]),
    ]


def test_json_words_key_alone_is_a_wrapper() -> None:
    assert parse(b'{"words": ["damn"]}', "json") == [make_entry("damn")]


def test_json_list_of_strings() -> None:
    assert parse(b'["damn", "Son of a  Bitch", "sh*t"]', "json") == [
        make_entry("damn"),
        make_entry("son of a bitch"),
        make_entry("sh*t"),
    ]


def test_json_list_of_objects() -> None:
    data = [
        {"word": "damn"},
        {"word": "crap", "severity": "low", "category": "mild", "notes": "n", "variations": []},
        {"word": "hell", "severity": None, "category": "", "notes": None, "variations": None},
    ]
    assert parse(json.dumps(data).encode(), "json") == [
        make_entry("damn"),
        make_entry("crap", severity="low", category="mild", notes="n"),
        make_entry("hell"),
    ]


def test_json_empty_strings_mean_defaults() -> None:
    data = {"damn": {"severity": "", "category": "", "notes": "", "variations": []}}
    assert parse(json.dumps(data).encode(), "json") == [make_entry("damn")]


def test_json_malformed_reports_line_and_column() -> None:
    message = _error('{\n  "damn": {"severity": "low"},\n  "shit": \n}', "json")
    assert message.startswith("invalid JSON at line 4, column 1: ")


def test_json_malformed_trailing_comma() -> None:
    assert _error('["damn",]', "json").startswith("invalid JSON at line 1, column ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("42", "JSON must be an object or an array, got number"),
        ('"damn"', "JSON must be an object or an array, got string"),
        ("null", "JSON must be an object or an array, got null"),
        ("true", "JSON must be an object or an array, got boolean"),
        ('{"name": "x", "words": null}', "'words' must be an object or an array, got null"),
        ('{"name": "x", "words": "damn"}', "'words' must be an object or an array, got string"),
    ],
)
def test_json_wrong_top_level_shape(data: str, message: str) -> None:
    assert _error(data, "json") == message


def test_json_list_of_numbers() -> None:
    assert _error("[1, 2]", "json") == (
        "entry 1: must be a word or an object with a 'word' key, got number"
    )


def test_json_list_with_nested_list() -> None:
    assert _error('["damn", ["x"]]', "json").startswith("entry 2: must be a word ")


def test_json_details_not_an_object() -> None:
    assert _error('{"damn": "high"}', "json") == (
        "words['damn']: details must be an object or null, got string"
    )
    assert _error('{"damn": ["high"]}', "json") == (
        "words['damn']: details must be an object or null, got array"
    )


def test_json_object_without_words_key_reads_as_a_mapping() -> None:
    message = _error('{"name": "x", "description": "y"}', "json")
    assert message == "words['name']: details must be an object or null, got string"


def test_json_severity_as_number() -> None:
    message = _error('{"damn": {"severity": 3}}', "json")
    assert message.startswith("words['damn']: severity of 'damn' must be one of low, medium")
    assert message.endswith("got 3")


def test_json_invalid_severity_in_list_entry() -> None:
    message = _error('[{"word": "damn"}, {"word": "shit", "severity": "huge"}]', "json")
    assert message.startswith("entry 2: severity of 'shit' must be one of")


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ('{"variations": "a, b"}', "variations of 'damn' must be a list of strings"),
        ('{"variations": [1]}', "variation of 'damn' must be a string"),
        ('{"variations": [{"a": 1}]}', "variation of 'damn' must be a string"),
        ('{"variations": {"a": 1}}', "variations of 'damn' must be a list of strings"),
        ('{"notes": 5}', "notes of 'damn' must be a string"),
        ('{"notes": {}}', "notes of 'damn' must be a string"),
        ('{"category": true}', "category of 'damn' must be"),
        ('{"severity": NaN}', "severity of 'damn' must be one of"),
        ('{"severity": ["high"]}', "severity of 'damn' must be one of"),
    ],
)
def test_json_field_types(details: str, expected: str) -> None:
    message = _error(f'{{"damn": {details}}}', "json")
    assert message.startswith(f"words['damn']: {expected}")


def test_json_word_not_a_string_in_list_entry() -> None:
    assert _error('[{"word": 5}]', "json") == "entry 1: word must be a string"
    assert _error('[{"word": {}}]', "json") == "entry 1: word must be a string"


def test_json_list_entry_without_word() -> None:
    assert _error('[{"severity": "high"}]', "json") == "entry 1: missing key 'word'"


def test_json_unknown_detail_key() -> None:
    message = _error('{"damn": {"severty": "high", "colour": 1}}', "json")
    assert message.startswith("words['damn']: unknown key(s) 'severty', 'colour'")


def test_json_word_key_inside_mapping_details_is_unknown() -> None:
    assert _error('{"damn": {"word": "damn"}}', "json").startswith(
        "words['damn']: unknown key(s) 'word'"
    )


def test_json_empty_word() -> None:
    assert _error('{"  ": null}', "json") == "words['  ']: word must not be empty"
    assert _error('[""]', "json") == "entry 1: word must not be empty"


def test_json_word_with_separator() -> None:
    assert _error('["a|b"]', "json").startswith("entry 1: word 'a|b' contains '|'")


def test_json_duplicate_word_after_normalization() -> None:
    message = _error('{"Damn": null, "shit": null, "DAMN ": {"severity": "low"}}', "json")
    assert message == "words['DAMN ']: duplicate word 'damn', already listed at words['Damn']"


def test_json_duplicate_word_in_list() -> None:
    message = _error('["damn", {"word": "shit"}, {"word": "Shit"}]', "json")
    assert message == "entry 3: duplicate word 'shit', already listed at entry 2"


def test_json_repeated_key_in_words_mapping() -> None:
    message = _error('{"damn": null, "damn": {"severity": "high"}}', "json")
    assert message == "words['damn']: the key appears more than once"


def test_json_repeated_key_in_details() -> None:
    message = _error('{"damn": {"severity": "high", "severity": "low"}}', "json")
    assert message == "words['damn']: key 'severity' appears more than once"


def test_json_repeated_words_key_in_wrapper() -> None:
    message = _error('{"name": "x", "words": ["a"], "words": ["b"]}', "json")
    assert message == "key 'words' appears more than once"


def test_json_deeply_nested() -> None:
    assert _error("[" * 100_000 + "]" * 100_000, "json") == "invalid JSON: nested too deeply"


def test_json_huge_integer() -> None:
    assert _error('{"damn": {"severity": ' + "9" * 5000 + "}}", "json").startswith("invalid JSON")


def test_json_too_many_entries_checked_before_validation() -> None:
    assert _error('{"a": 1, "b": 2, "c": 3}', "json", max_entries=2) == (
        "file holds more than 2 words"
    )
    assert _error("[1, 2, 3]", "json", max_entries=2) == "file holds more than 2 words"


# --- parse: csv -------------------------------------------------------------


def test_csv_header_case_and_whitespace_and_order() -> None:
    data = " Notes ,WORD, Severity\nsome note,Damn,low\n"
    assert parse(data.encode(), "csv") == [make_entry("damn", severity="low", notes="some note")]


def test_csv_word_column_only() -> None:
    assert parse(b"word\ndamn\nShit\n", "csv") == [make_entry("damn"), make_entry("shit")]


def test_csv_empty_cells_mean_defaults() -> None:
    data = "word,severity,category,variations,notes\ndamn,,,,\nshit, , ,  ,  \n"
    assert parse(data.encode(), "csv") == [make_entry("damn"), make_entry("shit")]


def test_csv_short_rows_mean_defaults() -> None:
    data = "word,severity,category,variations,notes\ndamn\nshit,high\n"
    assert parse(data.encode(), "csv") == [make_entry("damn"), make_entry("shit", severity="high")]


def test_csv_variations_split_on_pipe() -> None:
    data = "word,variations\nshit,|sh*t|| sh1t |SHIT|\n"
    assert parse(data.encode(), "csv") == [make_entry("shit", variations=["sh*t", "sh1t"])]


def test_csv_quoted_cells() -> None:
    data = 'word,notes\n"son of a bitch","a, ""quoted"" note"\n'
    assert parse(data.encode(), "csv") == [make_entry("son of a bitch", notes='a, "quoted" note')]


def test_csv_blank_lines_skipped() -> None:
    data = "\n\nword,severity\n\ndamn,low\n,\n   \n\nshit,high\n\n"
    assert parse(data.encode(), "csv") == [
        make_entry("damn", severity="low"),
        make_entry("shit", severity="high"),
    ]


def test_csv_crlf_and_lone_cr() -> None:
    expected = [make_entry("damn", severity="low"), make_entry("shit")]
    assert parse(b"word,severity\r\ndamn,low\r\nshit,\r\n", "csv") == expected
    assert parse(b"word,severity\rdamn,low\rshit,\r", "csv") == expected


def test_csv_no_trailing_newline() -> None:
    assert parse(b"word\ndamn", "csv") == [make_entry("damn")]


def test_csv_unnamed_empty_columns_are_ignored() -> None:
    assert parse(b"word,severity,,\ndamn,low,,\n", "csv") == [make_entry("damn", severity="low")]


def test_csv_value_in_unnamed_column() -> None:
    assert _error("word,\ndamn,\nshit,x\n", "csv") == "line 3: column 2 has a value but no name"


def test_csv_unknown_columns_named() -> None:
    message = _error("word,Severity,colour,added_date\ndamn,low,red,today\n", "csv")
    assert message.startswith("line 1: unknown csv column(s) 'colour', 'added_date'")


def test_csv_missing_word_column() -> None:
    message = _error("term,severity\ndamn,low\n", "csv")
    assert message.startswith("line 1: the csv header needs a 'word' column")
    assert "'term,severity'" in message


def test_csv_headerless_file() -> None:
    assert _error("\n\ndamn,high\n", "csv").startswith("line 3: the csv header needs a 'word'")


def test_csv_semicolon_file() -> None:
    assert _error("word;severity\ndamn;low\n", "csv").startswith("line 1: the csv header needs")


def test_csv_repeated_column() -> None:
    assert _error("word,notes,Word\n", "csv") == "line 1: csv column 'word' appears more than once"


def test_csv_too_many_cells() -> None:
    message = _error("word,severity\ndamn,low\nshit,high,extra\n", "csv")
    assert message == "line 3: the row has 3 cells but the header has 2"


def test_csv_invalid_severity_with_physical_line() -> None:
    message = _error("word,severity\n\ndamn,low\n\n\nshit,huge\n", "csv")
    assert message.startswith("line 6: severity of 'shit' must be one of low, medium, high")


def test_csv_invalid_category() -> None:
    assert _error("word,category\ndamn,Bad/Cat\n", "csv").startswith(
        "line 2: category of 'damn' must be"
    )


def test_csv_empty_word_with_other_cells() -> None:
    assert _error("word,severity\n,high\n", "csv") == "line 2: word must not be empty"


def test_csv_multiline_cell_reports_its_first_line() -> None:
    message = _error('word,notes\ndamn,ok\nshit,"two\nlines"\ncrap,\n', "csv")
    assert message.startswith("line 3: notes of 'shit' must be one line")


def test_csv_line_numbers_after_multiline_cell() -> None:
    # line 2 spans two physical lines; each "|" part is stripped, so it is valid
    message = _error('word,variations\ndamn,"a|\nb"\nshit,x|y\nshit,\n', "csv")
    assert message == "line 5: duplicate word 'shit', already listed at line 4"
    message = _error("word,variations\r\ndamn,ok\r\nshit,\r\n\r\nShit,\r\n", "csv")
    assert message == "line 5: duplicate word 'shit', already listed at line 3"


def test_csv_unterminated_quote() -> None:
    assert _error('word,notes\ndamn,"open\nshit,x\n', "csv").startswith("line 2: notes of")


def test_csv_duplicate_word_names_both_lines() -> None:
    message = _error("word\ndamn\nshit\n\nDamn\n", "csv")
    assert message == "line 5: duplicate word 'damn', already listed at line 2"


def test_csv_field_over_the_csv_limit() -> None:
    data = 'word,notes\ndamn,"' + "x" * 200_000 + '"\n'
    assert _error(data, "csv").startswith("line 2: malformed csv: ")


# --- parse: txt -------------------------------------------------------------


def test_txt_comments_blank_lines_and_defaults() -> None:
    data = """# a comment
   # an indented comment

damn
Shit | high
crap | low | mild
hell | | | heck, h*ll
bloody | low | british | b****y | notes | with | pipes
"""
    assert parse(data.encode(), "txt") == [
        make_entry("damn"),
        make_entry("shit", severity="high"),
        make_entry("crap", severity="low", category="mild"),
        make_entry("hell", variations=["heck", "h*ll"]),
        make_entry(
            "bloody",
            severity="low",
            category="british",
            variations=["b****y"],
            notes="notes | with | pipes",
        ),
    ]


def test_txt_fields_stripped_and_empty_variations_dropped() -> None:
    data = "  son  of a bitch  |  HIGH  |  Insult  | ,sob,, s.o.b ,  |  note  \n"
    assert parse(data.encode(), "txt") == [
        make_entry(
            "son of a bitch",
            severity="high",
            category="insult",
            variations=["sob", "s.o.b"],
            notes="note",
        )
    ]


def test_txt_trailing_empty_fields() -> None:
    assert parse(b"damn |\nshit | | | |\n", "txt") == [make_entry("damn"), make_entry("shit")]


def test_txt_crlf_and_lone_cr() -> None:
    expected = [make_entry("damn", severity="low"), make_entry("shit")]
    assert parse(b"# c\r\ndamn | low\r\nshit\r\n", "txt") == expected
    assert parse(b"# c\rdamn | low\rshit\r", "txt") == expected
    assert _error(b"# c\rdamn\r\rdamn\r", "txt") == (
        "line 4: duplicate word 'damn', already listed at line 2"
    )


def test_txt_no_trailing_newline() -> None:
    assert parse(b"damn", "txt") == [make_entry("damn")]


def test_txt_unescaping_only_touches_hash_words() -> None:
    data = "\\#tag\n\\\\#two\n\\plain\n"
    assert parse(data.encode(), "txt") == [
        make_entry("#tag"),
        make_entry("\\#two"),
        make_entry("\\plain"),
    ]


def test_txt_invalid_severity_with_physical_line() -> None:
    message = _error("# header\n\ndamn\n\nshit | huge\n", "txt")
    assert message.startswith("line 5: severity of 'shit' must be one of low, medium, high")


def test_txt_empty_word() -> None:
    assert _error("damn\n | high\n", "txt") == "line 2: word must not be empty"


def test_txt_control_character_in_notes() -> None:
    assert _error("damn | | | | tab\there\n", "txt").startswith("line 1: notes of 'damn' must")


def test_txt_duplicate_word_names_both_lines() -> None:
    message = _error("# c\nSon Of A Bitch\ndamn\nson of  a bitch | high\n", "txt")
    assert message == "line 4: duplicate word 'son of a bitch', already listed at line 2"


def test_txt_too_many_variations() -> None:
    variations = ", ".join(f"v{i}" for i in range(101))
    assert _error(f"damn | | | {variations}\n", "txt").startswith("line 1: 'damn' has more than")


# --- detect_format ----------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("list.json", "json"),
        ("LIST.JSON", "json"),
        ("list.Csv", "csv"),
        ("my.list.txt", "txt"),
        ("C:\\Users\\me\\words.CSV", "csv"),
        ("/tmp/dir.json/words.txt", "txt"),
    ],
)
def test_detect_format_by_extension(filename: str, expected: str) -> None:
    assert detect_format(filename, b'{"looks": "like json"}') == expected


@pytest.mark.parametrize("filename", [None, "", "words", "words.tsv", "dir.csv/words", ".json."])
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"damn": null}', "json"),
        (b'  \n\t["damn"]', "json"),
        (b'\xef\xbb\xbf\n{"damn": null}', "json"),
        (b"word,severity\ndamn,low\n", "csv"),
        (b"\xef\xbb\xbf Severity , WORD \ndamn,low\n", "csv"),
        (b'"word","notes"\ndamn,x\n', "csv"),
        (b"word\ndamn\n", "txt"),
        (b"damn\nshit\n", "txt"),
        (b"# Clean-Tracks word list: word, bad\ndamn\n", "txt"),
        (b"swordfish,password\n", "txt"),
        (b"", "txt"),
        (b"\xff\xfe\x00", "txt"),
    ],
)
def test_detect_format_by_content(filename: str | None, data: bytes, expected: str) -> None:
    assert detect_format(filename, data) == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_detect_format_of_own_exports(fmt: str) -> None:
    meta = ListMeta(name="word, words", description="word,list")
    assert detect_format(None, serialize(TRICKY, fmt, meta)) == fmt
    assert detect_format("upload.bin", serialize(TRICKY, fmt, meta)) == fmt


# --- export_filename --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("English (General)", "json", "english-general.json"),
        ("english-general", "csv", "english-general.csv"),
        ("  Français — Très grossier!  ", "txt", "francais-tres-grossier.txt"),
        ("../../etc/passwd", "txt", "etc-passwd.txt"),
        ('a"b\r\nc;d', "csv", "a-b-c-d.csv"),
        ("Русский", "txt", "wordlist.txt"),
        ("", "json", "wordlist.json"),
        ("!!!", "csv", "wordlist.csv"),
        ("Kids_2024", "json", "kids-2024.json"),
    ],
)
def test_export_filename(name: str, fmt: str, expected: str) -> None:
    assert export_filename(ListMeta(name=name), fmt) == expected


def test_export_filename_is_capped_and_ascii() -> None:
    filename = export_filename(ListMeta(name="very long name " * 20), "json")
    stem = filename.removesuffix(".json")
    assert len(stem) <= 80
    assert filename.isascii()
    assert not stem.endswith("-")


def test_export_filename_unknown_format() -> None:
    with pytest.raises(InvalidArgument, match="unknown format"):
        export_filename(META, "xml")


# --- allow-list -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "txt"])
def test_json_and_txt_carry_the_allow_list(fmt: str) -> None:
    meta = ListMeta(name="x", allow=("scunthorpe", "shell"))
    data = serialize(TRICKY, fmt, meta)
    parsed = read(data, fmt)
    assert parsed.entries == TRICKY
    assert parsed.allow == ["scunthorpe", "shell"]
    assert serialize(parsed.entries, fmt, ListMeta(name="x", allow=tuple(parsed.allow))) == data


@pytest.mark.parametrize("fmt", ["json", "txt"])
def test_an_empty_allow_list_is_carried_as_empty(fmt: str) -> None:
    assert read(serialize(TRICKY, fmt, ListMeta(name="x")), fmt).allow == []


def test_files_without_an_allow_list_leave_it_alone() -> None:
    assert read(serialize(TRICKY, "csv", ListMeta(name="x", allow=("a",))), "csv").allow is None
    assert read(b"fuck | high\n# a comment\n", "txt").allow is None
    assert read(b'{"fuck": {"severity": "high"}}', "json").allow is None
    assert read(b'["fuck"]', "json").allow is None
    assert read(b'{"words": ["fuck"]}', "json").allow is None


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b'{"words": ["fuck"], "allow": "shell"}', "json", "'allow' must be an array of words"),
        (b'{"words": ["fuck"], "allow": ["shell", 3]}', "json", "'allow' must be an array"),
        (b'{"words": ["fuck"], "allow": [], "allow": []}', "json", "'allow' appears more"),
        (b"# allow: shell\n#allow: class\nfuck\n", "txt", "line 2: a second '# allow:' line"),
    ],
)
def test_a_malformed_allow_list_is_refused(data: bytes, fmt: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        read(data, fmt)
