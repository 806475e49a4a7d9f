"""Word-list files: export entries as json, csv or txt, and import them back."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from services.common.errors import InvalidArgument
from services.common.wordlists import WordEntry, make_entry

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ListFile",
    "ListMeta",
    "detect_format",
    "export_filename",
    "parse",
    "read",
    "serialize",
]

FORMATS: tuple[str, ...] = ("json", "csv", "txt")
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}

_FIELDS: tuple[str, ...] = ("severity", "category", "variations", "notes")
_CSV_COLUMNS: tuple[str, ...] = ("word", *_FIELDS)
_META_KEYS = frozenset({"name", "description", "language", "allow"})
_TXT_FORMAT_LINE = "# format: word | severity | category | variation1, variation2 | notes"
# The one comment a txt import reads: the list's allow-list, comma-separated.
_TXT_ALLOW = re.compile(r"^#\s*allow\s*:(.*)$", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A txt line whose first non-blank character is "#" is a comment, so a word that starts
# with "#" (or with backslashes and then "#") is written with one more "\".
_TXT_ESCAPED = re.compile(r"^\\*#")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_MAX_SLUG_LENGTH = 80
_SNIFF_BYTES = 4096


@dataclass(frozen=True)
class ListMeta:
    """The list's own fields that an export carries alongside its words."""

    name: str
    description: str = ""
    language: str = "en"
    allow: tuple[str, ...] = ()  # words never censored (json and txt carry them)


@dataclass(frozen=True)
class ListFile:
    """What an import file holds: its entries, and its allow-list when it carries one."""

    entries: list[WordEntry]
    allow: list[str] | None = None


class _JsonObject:
    """A decoded JSON object that keeps its keys in order, repeated keys included."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


class _Collector:
    """Builds the parsed list: counts entries, spots duplicate words."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.entries: list[WordEntry] = []
        self.allow: list[str] | None = None
        self._seen: dict[str, str] = {}

    def add(self, where: str, build: Callable[..., WordEntry], *args: Any) -> None:
        """Builds one entry with ``build(*args)``; errors get ``where`` as prefix."""
        try:
            entry = build(*args)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{where}: {exc.message}") from exc
        first = self._seen.get(entry.word)
        if first is not None:
            raise InvalidArgument(
                f"{where}: duplicate word {entry.word!r}, already listed at {first}"
            )
        if len(self.entries) >= self.max_entries:
            raise InvalidArgument(f"file holds more than {self.max_entries} words")
        self._seen[entry.word] = where
        self.entries.append(entry)

    def result(self) -> list[WordEntry]:
        if not self.entries:
            raise InvalidArgument("file holds no words")
        return self.entries


def serialize(entries: Sequence[WordEntry], fmt: str, meta: ListMeta) -> bytes:
    """Writes a word list as the bytes of an export file.

    Args:
        entries: the list's entries, valid (as ``make_entry`` returns them) and
            with distinct words; written in the given order.
        fmt: json, csv or txt.
        meta: the list's name, description, language and allow-list (json and txt
            carry them; csv holds the words only).

    Returns:
        The file's UTF-8 bytes, ending with a newline.

    Raises:
        InvalidArgument: for an unknown format.
    """
    fmt = _check_format(fmt)
    if fmt == "json":
        return _serialize_json(entries, meta)
    if fmt == "csv":
        return _serialize_csv(entries)
    return _serialize_txt(entries, meta)


def parse(data: bytes, fmt: str, *, max_entries: int = 50_000) -> list[WordEntry]:
    """Reads the entries of an import file (``read`` without the allow-list)."""
    return read(data, fmt, max_entries=max_entries).entries


def read(data: bytes, fmt: str, *, max_entries: int = 50_000) -> ListFile:
    """Reads an import file: its entries, and the allow-list a json or txt export carries.

    Args:
        data: the file's bytes; UTF-8, a leading byte-order mark allowed.
        fmt: json, csv or txt.
        max_entries: the most entries the file may hold.

    Returns:
        The entries in file order, each validated and normalized by ``make_entry``, and
        the allow-list as written (the catalog normalizes it), or None when the file has
        none: a json document's "allow" array, a txt file's "# allow: a, b" line.

    Raises:
        InvalidArgument: for an unknown format, an empty or non-UTF-8 file,
            malformed content, an invalid entry (prefixed with its line or
            position), a word listed twice, more than ``max_entries`` entries
            or no entries at all.
    """
    fmt = _check_format(fmt)
    text = _decode(data)
    collector = _Collector(max_entries)
    if fmt == "json":
        _parse_json(text, collector)
    elif fmt == "csv":
        _parse_csv(text, collector)
    else:
        _parse_txt(text, collector)
    return ListFile(collector.result(), collector.allow)


def detect_format(filename: str | None, data: bytes) -> str:
    """Guesses an uploaded file's format.

    Args:
        filename: the uploaded file's name, if any; a .json, .csv or .txt
            extension (any case) decides.
        data: the file's bytes, sniffed when the name does not decide: json when
            it starts with "{" or "[", csv when its first line has a "word"
            column, txt otherwise.

    Returns:
        One of ``FORMATS``; never raises, ``parse`` reports a bad file.
    """
    if filename:
        base = re.split(r"[\\/]", filename)[-1]
        _, dot, ext = base.rpartition(".")
        if dot and ext.strip().lower() in FORMATS:
            return ext.strip().lower()
    head = bytes(data[:_SNIFF_BYTES]).decode("utf-8", errors="replace")
    head = head.lstrip("\ufeff").lstrip()
    if head.startswith(("{", "[")):
        return "json"
    first_line = _LINE_BREAK.split(head, maxsplit=1)[0]
    if "," in first_line and not first_line.startswith("#"):
        cells = (cell.strip().strip('"').strip().lower() for cell in first_line.split(","))
        if "word" in cells:
            return "csv"
    return "txt"


def export_filename(meta: ListMeta, fmt: str) -> str:
    """Names an export file after its list.

    Args:
        meta: the list; its name becomes an ASCII slug such as "english-general".
        fmt: json, csv or txt, the file's extension.

    Returns:
        ``<slug>.<fmt>``, or ``wordlist.<fmt>`` when the name leaves no slug.

    Raises:
        InvalidArgument: for an unknown format.
    """
    fmt = _check_format(fmt)
    ascii_name = unicodedata.normalize("NFKD", meta.name).encode("ascii", "ignore").decode()
    slug = _SLUG_JUNK.sub("-", ascii_name.lower()).strip("-")
    slug = slug[:_MAX_SLUG_LENGTH].rstrip("-")
    return f"{slug or 'wordlist'}.{fmt}"


# --- shared helpers ---------------------------------------------------------


def _check_format(fmt: object) -> str:
    name = fmt.strip().lower() if isinstance(fmt, str) else fmt
    if name not in FORMATS:
        raise InvalidArgument(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return name  # type: ignore[return-value]


def _decode(data: bytes) -> str:
    raw = bytes(data)
    if not raw:
        raise InvalidArgument("file is empty")
    if b"\x00" in raw:
        raise InvalidArgument("file is not UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidArgument("file is not UTF-8 text") from None
    if not text.strip():
        raise InvalidArgument("file is empty")
    return text


def _one_line(text: object) -> str:
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def _or_none(value: Any) -> Any:
    """Maps an empty value (absent, "", [] or null) to None so that defaults apply."""
    if value is None or value == "" or value == []:
        return None
    return value


# --- json -------------------------------------------------------------------


def _serialize_json(entries: Sequence[WordEntry], meta: ListMeta) -> bytes:
    document = {
        "name": meta.name,
        "description": meta.description,
        "language": meta.language,
        "allow": list(meta.allow),
        "words": {
            entry.word: {
                "severity": entry.severity,
                "category": entry.category,
                "variations": list(entry.variations),
                "notes": entry.notes,
            }
            for entry in entries
        },
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _json_type(value: Any) -> str:
    if isinstance(value, _JsonObject):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null"


def _json_fields(obj: _JsonObject, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in obj.pairs:
        if key in fields:
            raise InvalidArgument(f"{where}: key {key!r} appears more than once")
        fields[key] = value
    unknown = [key for key in fields if key not in allowed]
    if unknown:
        raise InvalidArgument(
            f"{where}: unknown key(s) {', '.join(repr(key) for key in unknown)}; "
            f"expected {', '.join(allowed)}"
        )
    return fields


def _json_entry(word: Any, details: dict[str, Any]) -> WordEntry:
    return make_entry(
        word,
        severity=_or_none(details.get("severity")),
        category=_or_none(details.get("category")),
        variations=_or_none(details.get("variations")),
        notes=_or_none(details.get("notes")),
    )


def _parse_json(text: str, collector: _Collector) -> None:
    try:
        document = json.loads(text, object_pairs_hook=_JsonObject)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InvalidArgument("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal over Python's digit limit
        raise InvalidArgument(f"invalid JSON: {exc}") from None
    words = document
    if isinstance(document, _JsonObject):
        keys = [key for key, _ in document.pairs]
        if "words" in keys:
            value = next(value for key, value in document.pairs if key == "words")
            if isinstance(value, _JsonObject | list) or _META_KEYS & set(keys):
                if keys.count("words") > 1:
                    raise InvalidArgument("key 'words' appears more than once")
                words = value
                collector.allow = _json_allow(document)
    if isinstance(words, _JsonObject):
        _parse_json_mapping(words, collector)
    elif isinstance(words, list):
        _parse_json_list(words, collector)
    elif words is document:
        raise InvalidArgument(f"JSON must be an object or an array, got {_json_type(document)}")
    else:
        raise InvalidArgument(f"'words' must be an object or an array, got {_json_type(words)}")


def _json_allow(document: _JsonObject) -> list[str] | None:
    values = [value for key, value in document.pairs if key == "allow"]
    if not values:
        return None
    if len(values) > 1:
        raise InvalidArgument("key 'allow' appears more than once")
    (allow,) = values
    if not isinstance(allow, list) or not all(isinstance(word, str) for word in allow):
        raise InvalidArgument(f"'allow' must be an array of words, got {_json_type(allow)}")
    return allow


def _parse_json_mapping(words: _JsonObject, collector: _Collector) -> None:
    if len(words.pairs) > collector.max_entries:
        raise InvalidArgument(f"file holds more than {collector.max_entries} words")
    raw_keys: set[str] = set()
    for word, value in words.pairs:
        where = f"words[{word!r}]"
        if word in raw_keys:
            raise InvalidArgument(f"{where}: the key appears more than once")
        raw_keys.add(word)
        if value is None:
            details: dict[str, Any] = {}
        elif isinstance(value, _JsonObject):
            details = _json_fields(value, where, _FIELDS)
        else:
            raise InvalidArgument(
                f"{where}: details must be an object or null, got {_json_type(value)}"
            )
        collector.add(where, _json_entry, word, details)


def _parse_json_list(items: list[Any], collector: _Collector) -> None:
    if len(items) > collector.max_entries:
        raise InvalidArgument(f"file holds more than {collector.max_entries} words")
    for index, item in enumerate(items, start=1):
        where = f"entry {index}"
        if isinstance(item, str):
            word: Any = item
            details: dict[str, Any] = {}
        elif isinstance(item, _JsonObject):
            details = _json_fields(item, where, _CSV_COLUMNS)
            if "word" not in details:
                raise InvalidArgument(f"{where}: missing key 'word'")
            word = details["word"]
        else:
            raise InvalidArgument(
                f"{where}: must be a word or an object with a 'word' key, got {_json_type(item)}"
            )
        collector.add(where, _json_entry, word, details)


# --- csv --------------------------------------------------------------------


def _serialize_csv(entries: Sequence[WordEntry]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for entry in entries:
        writer.writerow(
            [entry.word, entry.severity, entry.category, "|".join(entry.variations), entry.notes]
        )
    return buffer.getvalue().encode("utf-8")


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Yields (1-based first line, stripped cells) for each row that is not blank."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidArgument(f"line {reader.line_num}: malformed csv: {exc}") from None
        cells = [cell.strip() for cell in row]
        if any(cells):
            yield first_line, cells


def _csv_header(line: int, cells: list[str]) -> list[str | None]:
    """Maps each column to its field name, None for an unnamed (ignored) column."""
    columns: list[str | None] = []
    unknown: list[str] = []
    for cell in cells:
        name = cell.lower()
        if not name:
            columns.append(None)
            continue
        if name in columns:
            raise InvalidArgument(f"line {line}: csv column {name!r} appears more than once")
        if name not in _CSV_COLUMNS:
            unknown.append(cell)
        columns.append(name)
    if "word" not in columns:
        raise InvalidArgument(
            f"line {line}: the csv header needs a 'word' column "
            f"(columns: {', '.join(_CSV_COLUMNS)}), got {','.join(cells)[:200]!r}"
        )
    if unknown:
        raise InvalidArgument(
            f"line {line}: unknown csv column(s) {', '.join(repr(c) for c in unknown)}; "
            f"expected {', '.join(_CSV_COLUMNS)}"
        )
    return columns


def _csv_entry(columns: list[str | None], cells: list[str]) -> WordEntry:
    if len(cells) > len(columns):
        raise InvalidArgument(f"the row has {len(cells)} cells but the header has {len(columns)}")
    values: dict[str, str] = {}
    for index, (column, cell) in enumerate(zip(columns, cells, strict=False), start=1):
        if column is None:
            if cell:
                raise InvalidArgument(f"column {index} has a value but no name")
        else:
            values[column] = cell
    variations = [part.strip() for part in values.get("variations", "").split("|")]
    return make_entry(
        values.get("word", ""),
        severity=_or_none(values.get("severity")),
        category=_or_none(values.get("category")),
        variations=_or_none([part for part in variations if part]),
        notes=_or_none(values.get("notes")),
    )


def _parse_csv(text: str, collector: _Collector) -> None:
    columns: list[str | None] | None = None
    for line, cells in _csv_rows(text):
        if columns is None:
            columns = _csv_header(line, cells)
            continue
        collector.add(f"line {line}", _csv_entry, columns, cells)


# --- txt --------------------------------------------------------------------


def _serialize_txt(entries: Sequence[WordEntry], meta: ListMeta) -> bytes:
    lines = [
        f"# Clean-Tracks word list: {_one_line(meta.name)}",
        f"# language: {_one_line(meta.language)}",
        f"# description: {_one_line(meta.description)}",
        f"# allow: {', '.join(_one_line(word) for word in meta.allow)}".rstrip(),
        _TXT_FORMAT_LINE,
    ]
    for entry in entries:
        word = "\\" + entry.word if _TXT_ESCAPED.match(entry.word) else entry.word
        fields = [word, entry.severity, entry.category, ", ".join(entry.variations), entry.notes]
        lines.append(" | ".join(fields).rstrip())
    return ("\n".join(lines) + "\n").encode("utf-8")


def _txt_entry(line: str) -> WordEntry:
    fields = [field.strip() for field in line.split("|", maxsplit=4)]
    fields += [""] * (5 - len(fields))
    word, severity, category, variations, notes = fields
    if word.startswith("\\") and _TXT_ESCAPED.match(word[1:]):
        word = word[1:]
    parts = [part.strip() for part in variations.split(",")]
    return make_entry(
        word,
        severity=_or_none(severity),
        category=_or_none(category),
        variations=_or_none([part for part in parts if part]),
        notes=_or_none(notes),
    )


def _parse_txt(text: str, collector: _Collector) -> None:
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        stripped = line.strip()
        allow = _TXT_ALLOW.match(stripped)
        if allow:
            if collector.allow is not None:
                raise InvalidArgument(f"line {number}: a second '# allow:' line")
            collector.allow = [w.strip() for w in allow.group(1).split(",") if w.strip()]
            continue
        if not stripped or stripped.startswith("#"):
            continue
        collector.add(f"line {number}", _txt_entry, stripped)
