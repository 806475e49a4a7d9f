"""Pure parts of the censor pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from services.censor.dsp import Span
from services.censor.matching import Token
from services.censor.pipeline import CensorRequest, hotword_order, run_censor
from services.censor.report import build_report
from services.common import media
from services.common.wordlists import make_entry
from tests.support.speech import write_audio


def test_hotwords_are_the_single_words_in_alphabetical_order():
    entries = [
        make_entry("apeshit", severity="medium"),
        make_entry("zounds", severity="extreme"),
        make_entry("damn", severity="low"),
        make_entry("fuck", severity="high"),
        make_entry("arse", severity="extreme"),
        make_entry("son of a bitch", severity="high"),
    ]
    assert hotword_order(entries) == ["apeshit", "arse", "damn", "fuck", "zounds"]


def _entries():
    return [make_entry("fuck", severity="high"), make_entry("damn", severity="low")]


async def _run(tmp_path, verify_hears, **options):
    """Runs the pipeline on a tone with a fake transcriber: the first pass hears "fuck" at
    1.0-1.3 s; each verification pass hears what ``verify_hears`` returns."""
    rate = 22050
    t = np.arange(int(3.0 * rate)) / rate
    source = write_audio((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), tmp_path / "a.wav")
    calls = []

    async def transcribe(pcm, duration, hotwords):
        calls.append((pcm.shape[0] / 16000, list(hotwords)))
        tokens = (
            [Token("What", 0.5, 0.8), Token("the", 0.8, 1.0), Token("fuck", 1.0, 1.3, 0.9)]
            if len(calls) == 1
            else verify_hears(len(calls) - 1)
        )
        for token in tokens:
            yield token
        yield 100.0

    async def progress(stage, percent, message):
        stages.append(stage)

    stages: list[str] = []
    request = CensorRequest(
        input_path=source,
        output_path=tmp_path / "out.wav",
        entries=_entries(),
        method="silence",
        min_severity="low",
        **options,
    )
    return await run_censor(request, transcribe, progress), calls, stages


async def test_a_span_still_heard_is_widened_and_rendered_again(tmp_path):
    plain, _, _ = await _run(tmp_path, lambda n: [], verify=False)
    [unwidened] = plain.censored
    # The joined verification audio starts with the first cut: the span +- 0.1 s of context.
    result, calls, stages = await _run(
        tmp_path, lambda n: [Token("fuck", 0.12, 0.3, 0.8)] if n == 1 else []
    )
    [word] = result.censored
    assert word.widened and not unwidened.widened
    assert word.whisper == unwidened.whisper == Span(1.0, 1.3)
    assert word.refined.start == pytest.approx(unwidened.refined.start - 0.06)
    assert word.refined.end == pytest.approx(unwidened.refined.end + 0.06)
    assert result.spans == [word.refined]
    assert len(calls) == 3  # transcription, then two verification passes
    assert calls[1][1] == []  # no hotwords when verifying
    assert "verification" in stages
    out = media.decode(tmp_path / "out.wav").samples
    rate = 22050
    widened = out[int((word.refined.start + 0.01) * rate) : int(unwidened.refined.start * rate)]
    assert widened.size and np.sqrt(np.mean(widened**2)) < 1e-3  # the widened part is silent
    assert build_report(result)["censored"][0]["widened"] is True


async def test_a_span_not_heard_again_is_left_as_it_is(tmp_path):
    result, calls, _ = await _run(tmp_path, lambda n: [Token("the", 0.01, 0.05, 0.9)])
    [word] = result.censored
    assert not word.widened and len(calls) == 2
    assert word.refined.start <= 1.0 and word.refined.end >= 1.3


async def test_a_guess_with_low_confidence_does_not_widen(tmp_path):
    result, _, _ = await _run(tmp_path, lambda n: [Token("fuck", 0.12, 0.3, 0.2)])
    assert not result.censored[0].widened


async def test_verification_can_be_switched_off(tmp_path):
    result, calls, stages = await _run(tmp_path, lambda n: [], verify=False)
    assert len(calls) == 1 and "verification" not in stages
