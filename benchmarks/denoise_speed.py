"""Noise-removal speed: one long track through the block engine on 1, 2, ... worker threads.

Measures, side by side in one run, the real-time factor (wall seconds per second of audio) of
the DeepFilterNet3 block engine for a two-minute stereo 44.1 kHz track on each worker count up
to the machine's cores, the speed-up over one worker, and the peak memory of the process.
Writes ``benchmarks/results/denoise_speed.json`` and ``.md``, overwriting the last run.

    python -m benchmarks.denoise_speed [--seconds 120]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from services.censor.denoise import BlockEngine, DeepFilterNet3

__all__ = ["main", "markdown", "noisy_track"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RATE = 44_100


def noisy_track(seconds: float, seed: int = 0) -> np.ndarray:
    """Stereo speech-like tones under white noise: the engine's cost does not depend on it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    voice = 0.2 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    noise = 0.05 * rng.standard_normal((t.size, 2))
    return (voice[:, None] + noise).astype(np.float32)


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# denoise_speed",
        "",
        f"{result['seconds']:.0f} s of stereo {RATE} Hz audio, amount 100, "
        f"{result['cpus']} CPUs, {result['date']}.",
        "",
        "| workers | wall s | real-time factor | speed-up |",
        "|---:|---:|---:|---:|",
    ]
    for row in result["runs"]:
        lines.append(
            f"| {row['workers']} | {row['wall_seconds']:.1f} | {row['rtf']:.3f} "
            f"| {row['speedup']:.2f}x |"
        )
    lines += ["", f"Peak RSS: {result['peak_rss_mb']:.0f} MB.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    audio = noisy_track(args.seconds)
    model = DeepFilterNet3()
    runs = []
    for workers in range(1, (cpus or 1) + 1):
        with BlockEngine(model, workers=workers) as engine:
            started = time.perf_counter()
            out = engine.denoise(audio, RATE, amount=100)
            wall = time.perf_counter() - started
        assert out.shape == audio.shape
        runs.append({"workers": workers, "wall_seconds": wall, "rtf": wall / args.seconds})
    for row in runs:
        row["speedup"] = runs[0]["wall_seconds"] / row["wall_seconds"]
    result = {
        "seconds": args.seconds,
        "cpus": cpus,
        "machine": platform.platform(),
        "load_average": os.getloadavg()[0],
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "denoise_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS_DIR / "denoise_speed.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
