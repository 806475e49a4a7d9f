"""Censor jobs per minute with 1 and with 2 workers, side by side in one run.

Starts embedded Postgres and NATS, the catalog, one transcriber per worker and a gateway as
separate processes, then for each worker count submits the same batch of short speech clips
through the gateway and times how long the batch takes to complete. Writes
``benchmarks/results/jobs_throughput.json`` and ``.md``, overwriting the last run.

    python -m benchmarks.jobs_throughput [--jobs 8]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.embedded import free_port, start_nats, start_postgres
from tests.support.speech import build_track, write_audio

__all__ = ["main", "markdown"]

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
PIECES = [
    [("What the", False), ("fuck", True), ("are you doing with my car?", False)],
    [("Oh", False), ("shit,", True), ("I forgot my keys at home today.", False)],
    [("This is a", False), ("damn", True), ("good song.", False)],
    [("He is such an", False), ("asshole", True), ("and I do not like him at all.", False)],
]


def _serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _wait(check: Any, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.25)


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# jobs_throughput",
        "",
        f"{result['jobs']} jobs of {result['clip_seconds']:.1f} s speech clips each run, "
        f"{result['cpus']} CPUs, {result['date']}; one transcriber per worker.",
        "",
        "| workers | wall s | jobs per minute | speed-up |",
        "|---:|---:|---:|---:|",
    ]
    for row in result["runs"]:
        lines.append(
            f"| {row['workers']} | {row['wall_seconds']:.1f} | {row['jobs_per_minute']:.1f} "
            f"| {row['speedup']:.2f}x |"
        )
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cleantracks-bench-"))
    processes: list[subprocess.Popen[bytes]] = []
    postgres = start_postgres(work / "pg")
    nats_server = start_nats(work / "nats")

    def start(module: str, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log = (work / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    try:
        catalog_port, gateway_port = free_port(), free_port()
        catalog = f"127.0.0.1:{catalog_port}"
        start(
            "services.catalog.server",
            {
                "DATABASE_URL": postgres.url,
                "CATALOG_HOST": "127.0.0.1",
                "CATALOG_PORT": str(catalog_port),
            },
            "catalog",
        )
        _wait(lambda: _serving(catalog), "the catalog")
        base = f"http://127.0.0.1:{gateway_port}"
        start(
            "services.gateway.server",
            {
                "GATEWAY_HOST": "127.0.0.1",
                "GATEWAY_PORT": str(gateway_port),
                "CATALOG_ADDRESS": catalog,
                "NATS_URL": nats_server.url,
            },
            "gateway",
        )
        _wait(lambda: _http_ok(f"{base}/api/health"), "the gateway")
        clips = []
        for i, pieces in enumerate(PIECES):
            track = build_track(pieces, gap=0.05)
            clips.append((write_audio(track.audio, work / f"clip{i}.mp3"), track.duration))
        runs = []
        workers: list[subprocess.Popen[bytes]] = []
        for count in (1, 2):
            while len(workers) < count:
                n = len(workers)
                t_port, w_port = free_port(), free_port()
                start(
                    "services.transcriber.server",
                    {"TRANSCRIBER_HOST": "127.0.0.1", "TRANSCRIBER_PORT": str(t_port)},
                    f"transcriber{n}",
                )
                _wait(lambda p=t_port: _serving(f"127.0.0.1:{p}"), "a transcriber")
                workers.append(
                    start(
                        "services.censor.server",
                        {
                            "CENSOR_HOST": "127.0.0.1",
                            "CENSOR_PORT": str(w_port),
                            "NATS_URL": nats_server.url,
                            "CATALOG_ADDRESS": catalog,
                            "TRANSCRIBER_ADDRESS": f"127.0.0.1:{t_port}",
                        },
                        f"worker{n}",
                    )
                )
                _wait(lambda p=w_port: _serving(f"127.0.0.1:{p}"), "a worker")
            started = time.perf_counter()
            with httpx.Client(base_url=base, timeout=120) as http:
                ids = []
                for i in range(args.jobs):
                    path = clips[i % len(clips)][0]
                    with path.open("rb") as f:
                        r = http.post("/api/process", files={"file": (path.name, f)})
                    r.raise_for_status()
                    ids.append(r.json()["job_id"])
                pending = set(ids)
                while pending:
                    for job_id in list(pending):
                        if http.get(f"/api/jobs/{job_id}").json()["status"] in (
                            "completed",
                            "failed",
                        ):
                            pending.discard(job_id)
                    time.sleep(0.2)
            wall = time.perf_counter() - started
            runs.append(
                {"workers": count, "wall_seconds": wall, "jobs_per_minute": 60 * args.jobs / wall}
            )
        for row in runs:
            row["speedup"] = row["jobs_per_minute"] / runs[0]["jobs_per_minute"]
        result = {
            "jobs": args.jobs,
            "clip_seconds": sum(d for _, d in clips) / len(clips),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0],
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "runs": runs,
        }
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "jobs_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS_DIR / "jobs_throughput.md").write_text(markdown(result))
        print(markdown(result))
        return 0
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        nats_server.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
