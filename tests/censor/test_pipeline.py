"""Pure parts of the censor pipeline."""

from __future__ import annotations

from services.censor.pipeline import hotword_order
from services.common.wordlists import make_entry


def test_common_profanity_goes_first_then_severity_then_letters():
    entries = [
        make_entry("apeshit", severity="medium"),
        make_entry("zounds", severity="extreme"),
        make_entry("damn", severity="low"),
        make_entry("fuck", severity="high"),
        make_entry("arse", severity="extreme"),
        make_entry("son of a bitch", severity="high"),
    ]
    assert hotword_order(entries) == ["fuck", "damn", "arse", "zounds", "apeshit"]
