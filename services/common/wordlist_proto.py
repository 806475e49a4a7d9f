"""Conversion of word-list entries to and from the catalog's proto messages."""

from __future__ import annotations

from cleantracks_proto import catalog_pb2 as pb
from services.common.wordlists import SEVERITIES, WordEntry, make_entry

__all__ = ["entry_from_proto", "entry_to_proto", "severity_from_proto", "severity_to_proto"]

_SEVERITY_TO_PB = {name: i + 1 for i, name in enumerate(SEVERITIES)}


def severity_from_proto(value: int) -> str | None:
    """Returns the severity name, None for SEVERITY_UNSPECIFIED."""
    return SEVERITIES[value - 1] if 1 <= value <= len(SEVERITIES) else None


def severity_to_proto(name: str) -> pb.Severity.ValueType:
    return pb.Severity.ValueType(_SEVERITY_TO_PB[name])


def entry_from_proto(message: pb.WordEntry) -> WordEntry:
    """Validates a proto entry into a normalized WordEntry.

    Raises:
        InvalidArgument: for an entry that breaks the rules of ``make_entry``.
    """
    return make_entry(
        message.word,
        severity=severity_from_proto(message.severity),
        category=message.category or None,
        variations=list(message.variations),
        notes=message.notes,
    )


def entry_to_proto(entry: WordEntry) -> pb.WordEntry:
    return pb.WordEntry(
        word=entry.word,
        severity=severity_to_proto(entry.severity),
        category=entry.category,
        variations=entry.variations,
        notes=entry.notes,
    )
