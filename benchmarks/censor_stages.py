"""Real-time factor of each censor stage on a three-minute piper speech track.

Runs the censor pipeline's core (``run_censor``) in process over the transcriber's core, on
an MP3 of synthesized speech whose explicit words lie at known times, and writes the wall
seconds and real-time factor (seconds per second of audio) of each stage to
``benchmarks/results/censor_stages-<device>.json`` and ``.md``, overwriting the last run.

    python -m benchmarks.censor_stages --device cpu
    python -m benchmarks.censor_stages --device cuda
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime
import itertools
import json
import logging
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from services.censor.matching import Token
from services.censor.pipeline import CensorRequest, CensorResult, Transcribe, run_censor
from services.common import media
from services.common.wordlists import CENSOR_METHODS, SEVERITIES, WordEntry, make_entry
from services.transcriber.core import Progress, Transcriber, WordResult
from services.transcriber.server import create_transcriber
from services.transcriber.settings import TranscriberSettings

__all__ = [
    "SCRIPT",
    "STAGES",
    "StageClock",
    "in_process_transcribe",
    "load_seed_entries",
    "main",
    "markdown_report",
    "real_time_factors",
    "script_pieces",
]

logger = logging.getLogger(__name__)

STAGES = ("decode", "transcription", "matching", "rendering", "encoding")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
_SEED = (
    Path(__file__).resolve().parents[1] / "services" / "catalog" / "seed" / "english_general.json"
)
# An explicit piece counts as censored when this share of its speech frames was replaced,
# the bar the end-to-end tests hold each word to.
_CENSORED_SHARE = 0.9
_GAP_SECONDS = 0.15

# Sentences as piper pieces; True marks an explicit word of the default list. The clean
# pieces hold no listed word (tests/benchmarks checks it), so the ground truth is exact.
SCRIPT: tuple[tuple[tuple[str, bool], ...], ...] = (
    (("What the", False), ("fuck", True), ("are you doing with my car?", False)),
    (("The weather this morning was cold and grey, so we stayed inside.", False),),
    (("This is a", False), ("damn", True), ("good song.", False)),
    (("She packed the lunch boxes and walked the children to school.", False),),
    (("He is such an", False), ("asshole", True), ("and I do not like him at all.", False)),
    (("The train was late again, and nobody told us why.", False),),
    (("Oh", False), ("shit", True), ("I left the keys on the kitchen table.", False)),
    (("We planted tomatoes, beans and a row of sunflowers by the fence.", False),),
    (("That was the worst", False), ("fucking", True), ("movie I have ever seen.", False)),
    (("The library opens at nine and closes early on Sundays.", False),),
    (("Stop acting like a", False), ("bitch", True), ("and help me carry these boxes.", False)),
    (("My brother fixed the old radio with a soldering iron.", False),),
    (("This whole plan is", False), ("bullshit", True), ("and you know it.", False)),
    (("The river rose after the storm and flooded the lower fields.", False),),
    (("That lying", False), ("bastard", True), ("sold me a broken bike.", False)),
    (("We watched the sun go down from the top of the hill.", False),),
    (("I cannot find my", False), ("damn", True), ("phone anywhere.", False)),
    (("The bakery on the corner sells warm bread every morning.", False),),
    (("Get your", False), ("shit", True), ("together before the meeting starts.", False)),
    (("Our neighbours painted their front door a bright shade of blue.", False),),
    (("This traffic is", False), ("fucking", True), ("ridiculous today.", False)),
    (("The museum has a new room full of old maps and compasses.", False),),
    (("Who parked this piece of", False), ("crap", True), ("in my spot?", False)),
    (("Please remember to water the plants while I am away.", False),),
    (("You are a selfish", False), ("asshole", True), ("and everyone can see it.", False)),
    (("The concert ended with a quiet piano piece that everyone loved.", False),),
    (("Holy", False), ("shit", True), ("that was close.", False)),
    (("We counted forty birds on the lake before breakfast.", False),),
    (("I do not give a", False), ("fuck", True), ("what they think.", False)),
    (("The recipe calls for two eggs, flour, butter and a pinch of salt.", False),),
    (("Well,", False), ("damn", True), ("that is a lot of money.", False)),
    (("The old lighthouse still guides the fishing boats home at night.", False),),
)


def script_pieces(
    script: Sequence[Sequence[tuple[str, bool]]],
    seconds: float,
    piece_seconds: Callable[[str], float],
    gap: float = _GAP_SECONDS,
) -> list[tuple[str, bool]]:
    """Repeats the script's sentences, whole, until the track is at least ``seconds`` long.

    Args:
        script: Sentences as (text, explicit) pieces.
        seconds: The shortest track wanted.
        piece_seconds: The spoken length of one piece of text.
        gap: The silence after each piece.

    Returns:
        The pieces in order, for ``build_track``.
    """
    pieces: list[tuple[str, bool]] = []
    total = 0.0
    for sentence in itertools.cycle(script):
        if total >= seconds:
            break
        for text, explicit in sentence:
            pieces.append((text, explicit))
            total += piece_seconds(text) + gap
    return pieces


def load_seed_entries(path: Path = _SEED) -> list[WordEntry]:
    """Returns the seeded default list ("English - General") as the catalog stores it."""
    seed = json.loads(path.read_text(encoding="utf-8"))
    return [make_entry(word, **details) for word, details in seed["words"].items()]


class StageClock:
    """A pipeline progress callback that times each stage from its first event to the next's."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._starts: dict[str, float] = {}
        self._end: float | None = None

    async def progress(self, stage: str, percent: float, message: str) -> None:
        """The pipeline's ``Progress`` callback."""
        if stage not in self._starts:
            self._starts[stage] = self._clock()

    def stop(self) -> None:
        """Ends the last stage; call when the pipeline returns."""
        self._end = self._clock()

    def seconds(self) -> dict[str, float]:
        """Wall seconds of each stage seen, in the order they ran."""
        if self._end is None:
            raise RuntimeError("stop() was not called")
        names = list(self._starts)
        ends = [self._starts[name] for name in names[1:]] + [self._end]
        return {name: end - self._starts[name] for name, end in zip(names, ends, strict=True)}


def real_time_factors(seconds: dict[str, float], audio_seconds: float) -> dict[str, float]:
    """Seconds of work per second of audio for each entry; below 1 is faster than real time."""
    return {name: value / audio_seconds for name, value in seconds.items()}


def markdown_report(report: dict[str, Any]) -> str:
    """Formats a report (as written to the JSON file) as a short Markdown table."""
    run, audio = report["run"], report["audio"]
    lines = [
        f"# censor_stages on {run['device']} ({run['compute_type']})",
        "",
        f"{audio['seconds']:.1f} s of piper speech, {audio['format']} "
        f"{audio['sample_rate']} Hz, {audio['channels']} channel(s); "
        f"Whisper {run['model']}, method {run['method']}; "
        f"{report['machine']['cpu_model']}, {report['machine']['cpus_usable']} CPUs; "
        f"{report['date']}.",
        "",
        "| stage | wall seconds | real-time factor | CPU seconds |",
        "|---|---:|---:|---:|",
    ]
    for row in report["stages"]:
        lines.append(
            f"| {row['stage']} | {row['seconds']:.2f} | {row['rtf']:.4f} "
            f"| {row['cpu_seconds']:.2f} |"
        )
    total = report["total"]
    lines += [
        f"| **pipeline total** | **{total['seconds']:.2f}** | **{total['rtf']:.4f}** "
        f"| {total['cpu_seconds']:.2f} |",
        f"| model load (once per process) | {report['model_load_seconds']:.2f} | | |",
        "",
        f"Peak RSS {report['peak_rss_mb']:.0f} MB; load average "
        f"{report['load_average']['start'][0]:.2f} at the start, "
        f"{report['load_average']['end'][0]:.2f} at the end. "
        f"Explicit pieces censored: {report['sanity']['explicit_censored']}"
        f"/{report['sanity']['explicit_pieces']}; clean speech kept "
        f"{report['sanity']['clean_kept']:.1%}.",
        "",
    ]
    return "\n".join(lines)


def _make_track(path: Path, seconds: float) -> tuple[float, list[tuple[float, float]]]:
    """Synthesizes the script into an MP3 at ``path``; returns its length and explicit spans.

    Runs in a child process, so piper's voice is not counted in the benchmark's memory.
    """
    from tests.support.speech import RATE, build_track, synthesize, write_audio

    pieces = script_pieces(SCRIPT, seconds, lambda text: len(synthesize(text)) / RATE)
    track = build_track(pieces, gap=_GAP_SECONDS)
    write_audio(track.audio, path)
    return track.duration, track.explicit


def in_process_transcribe(
    transcriber: Transcriber, *, model: str, device: str, language: str | None = None
) -> Transcribe:
    """The pipeline's transcribe function over the transcriber core, as the worker's gRPC one
    (which passes the list's language, or None to detect it)."""

    async def transcribe(
        pcm: np.ndarray, duration: float, hotwords: Sequence[str]
    ) -> AsyncIterator[Token | float]:
        events = transcriber.transcribe(
            pcm,
            model=model,
            device=device,
            language=language,
            hotwords=hotwords,
            duration=duration,
            offset=0.0,
        )
        done = object()
        try:
            # Whisper decodes while the generator advances, so each step runs off the loop.
            while (event := await asyncio.to_thread(next, events, done)) is not done:
                if isinstance(event, WordResult):
                    yield Token(event.text, event.start, event.end, event.probability)
                elif isinstance(event, Progress):
                    yield event.percent
        finally:
            close = getattr(events, "close", None)  # stops Whisper if the pipeline gave up
            if close is not None:
                close()

    return transcribe


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_name() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


def _machine(device: str) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "gpu": _gpu_name() if device == "cuda" else None,
        "faster_whisper": version("faster-whisper"),
        "ctranslate2": version("ctranslate2"),
        "av": version("av"),
        "numpy": version("numpy"),
    }


def _sanity(
    source: Path, result: CensorResult, explicit: Sequence[tuple[float, float]]
) -> dict[str, Any]:
    """Judges the output from its audio against the exact spans of the explicit pieces."""
    from tests.support.measure import compare

    before, after = media.decode(source), media.decode(result.output_path)
    judged = compare(before.samples, after.samples, before.sample_rate, explicit)
    return {
        "words_transcribed": len(result.words),
        "matches": len(result.matches),
        "spans": len(result.spans),
        "explicit_pieces": len(explicit),
        "explicit_censored": sum(share >= _CENSORED_SHARE for share in judged.replaced),
        "explicit_replaced_mean": round(float(np.mean(judged.replaced)), 4),
        "clean_kept": round(judged.kept, 4),
        "same_length": before.samples.shape == after.samples.shape,
    }


async def _bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    source = work / "speech.mp3"
    logger.info("synthesizing about %.0f s of speech with piper", args.seconds)
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
        audio_seconds, explicit = pool.submit(_make_track, source, args.seconds).result()
    info = media.probe(source)

    settings = TranscriberSettings()
    if args.cpu_threads is not None:
        settings = settings.model_copy(update={"cpu_threads": args.cpu_threads})
    transcriber = create_transcriber(settings)
    started = time.perf_counter()
    loaded = await asyncio.to_thread(transcriber.preload, model=args.model, device=args.device)
    model_load = time.perf_counter() - started
    logger.info("model %s loaded on %s in %.1f s", args.model, loaded.device, model_load)

    entries = load_seed_entries()
    request = CensorRequest(
        input_path=source,
        output_path=work / "speech_censored.mp3",
        entries=entries,
        method=args.method,
        min_severity=args.min_severity,
    )
    # CPU seconds (all threads of this process) next to wall seconds: on a shared machine
    # the wall clock also counts time spent waiting for a core.
    wall, cpu = StageClock(time.perf_counter), StageClock(time.process_time)

    async def progress(stage: str, percent: float, message: str) -> None:
        await wall.progress(stage, percent, message)
        await cpu.progress(stage, percent, message)

    logger.info("censoring %.1f s of audio", audio_seconds)
    result = await run_censor(
        request, in_process_transcribe(transcriber, model=args.model, device=args.device), progress
    )
    wall.stop()
    cpu.stop()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    seconds, cpu_seconds = wall.seconds(), cpu.seconds()
    rtf = real_time_factors(seconds, audio_seconds)
    total = sum(seconds.values())
    return {
        "benchmark": "censor_stages",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(loaded.device),
        "run": {
            "model": args.model,
            "device": loaded.device,
            "compute_type": loaded.compute_type,
            "cpu_threads": settings.cpu_threads,
            "method": args.method,
            "min_severity": args.min_severity,
            "word_list": "English - General (seed)",
            "word_list_entries": len(entries),
        },
        "audio": {
            "format": info.kind,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "seconds": round(audio_seconds, 3),
        },
        "model_load_seconds": round(model_load, 3),
        "stages": [
            {
                "stage": name,
                "seconds": round(seconds[name], 3),
                "rtf": round(rtf[name], 5),
                "cpu_seconds": round(cpu_seconds[name], 3),
            }
            for name in seconds
        ],
        "total": {
            "seconds": round(total, 3),
            "rtf": round(total / audio_seconds, 5),
            "cpu_seconds": round(sum(cpu_seconds.values()), 3),
        },
        # Other work on the machine slows the wall clock; the 1-minute load says how much.
        "load_average": {
            "start": load_at_start,
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "peak_rss_mb": round(peak_rss_mb, 1),
        "sanity": _sanity(source, result, explicit),
    }


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.censor_stages",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    parser.add_argument("--model", default="base", help="a size name or folder (default: base)")
    parser.add_argument("--seconds", type=float, default=180.0, help="track length (about)")
    parser.add_argument("--method", choices=CENSOR_METHODS, default="beep")
    parser.add_argument("--min-severity", choices=SEVERITIES, default="low")
    parser.add_argument(
        "--cpu-threads", type=int, default=None, help="CTranslate2 threads (default: settings)"
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark once and writes its JSON and Markdown results; returns the exit code."""
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-censor-") as tmp:
        report = asyncio.run(_bench(args, Path(tmp)))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"censor_stages-{report['run']['device']}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    table = markdown_report(report)
    stem.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    print(f"wrote {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
