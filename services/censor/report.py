"""The job report: every transcribed word, and for each censored span what matched and where.

Pure functions from the pipeline's result to JSON-ready data; the gateway serves the report
as GET /api/jobs/{id}/transcript and edits it for POST /api/jobs/{id}/render.
"""

from __future__ import annotations

from typing import Any

from services.censor.pipeline import CensorResult

__all__ = ["build_report"]


def _r(value: float) -> float:
    return round(float(value), 3)


def build_report(result: CensorResult) -> dict[str, Any]:
    """Returns the report of a transcribed job (a dry run or a rendered one)."""
    return {
        "duration_seconds": _r(result.duration),
        "words": [
            {
                "text": w.text,
                "start": _r(w.start),
                "end": _r(w.end),
                "probability": _r(w.probability),
            }
            for w in result.words
        ],
        "censored": [
            {
                "text": c.match.text,
                "entry": c.match.entry.word,
                "severity": c.match.entry.severity,
                "category": c.match.entry.category,
                "rule": c.match.rule,
                "first_word": c.match.first,
                "last_word": c.match.last,
                "whisper_start": _r(c.whisper.start),
                "whisper_end": _r(c.whisper.end),
                "start": _r(c.refined.start),
                "end": _r(c.refined.end),
                "widened": c.widened,
                "source": "auto",
            }
            for c in result.censored
        ],
        "spans": [{"start": _r(s.start), "end": _r(s.end)} for s in result.spans],
        "words_detected": result.words_detected,
    }
