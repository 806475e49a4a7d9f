"""Scale-out on one machine: 2 gateways, 2 censor workers and 2 transcribers as separate
processes against one NATS and one Postgres. Jobs spread over both workers and complete exactly
once, progress reaches a client on the gateway that did not take the upload, and the system
survives kill -9 of one worker and one transcriber mid-run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import grpc
import httpx
import nats
import pytest
import socketio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.embedded import free_port, start_nats
from services.common.jobqueue import CENSOR_CONSUMER, STREAM, ensure_queue
from tests.conftest import REPO
from tests.support.speech import build_track, write_audio

JOBS = 20
PIECES = [
    [("What the", False), ("fuck", True), ("are you doing with my car?", False)],
    [("Oh", False), ("shit,", True), ("I forgot my keys at home today.", False)],
    [("This is a", False), ("damn", True), ("good song.", False)],
    [("He is such an", False), ("asshole", True), ("and I do not like him at all.", False)],
]


class Cluster:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.work / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.work / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


async def _until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.25)


async def _grpc_serving(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.aio.AioRpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
async def cluster(make_stack, tmp_path):
    embedded = await asyncio.to_thread(start_nats, tmp_path / "nats")
    nc = await nats.connect(embedded.url)
    js = nc.jetstream(timeout=30)
    await ensure_queue(js, ack_wait=9.0, max_deliver=5)
    stack = await make_stack()
    group = Cluster(tmp_path)
    ports = {name: free_port() for name in ("t1", "t2", "w1", "w2", "g1", "g2")}
    try:
        for name in ("t1", "t2"):
            group.start(
                name,
                "services.transcriber.server",
                {"TRANSCRIBER_HOST": "127.0.0.1", "TRANSCRIBER_PORT": str(ports[name])},
            )
        transcribers = f"ipv4:127.0.0.1:{ports['t1']},127.0.0.1:{ports['t2']}"
        for name in ("w1", "w2"):
            group.start(
                name,
                "services.censor.server",
                {
                    "CENSOR_HOST": "127.0.0.1",
                    "CENSOR_PORT": str(ports[name]),
                    "CENSOR_NATS_URL": embedded.url,
                    "CENSOR_CATALOG_ADDRESS": stack.address,
                    "CENSOR_TRANSCRIBER_ADDRESS": transcribers,
                    "CENSOR_ACK_WAIT_SECONDS": "9",
                    "CENSOR_BLOB_BUCKET": "scale-out",
                },
            )
        for name in ("g1", "g2"):
            group.start(
                name,
                "services.gateway.server",
                {
                    "GATEWAY_HOST": "127.0.0.1",
                    "GATEWAY_PORT": str(ports[name]),
                    "GATEWAY_CATALOG_ADDRESS": stack.address,
                    "GATEWAY_NATS_URL": embedded.url,
                    "GATEWAY_BLOB_BUCKET": "scale-out",
                },
            )
        for name in ("t1", "t2", "w1", "w2"):
            address = f"127.0.0.1:{ports[name]}"
            await _until(lambda a=address: _grpc_serving(a), 180, f"{name} to serve")
        for name in ("g1", "g2"):
            url = f"http://127.0.0.1:{ports[name]}/api/health"

            async def healthy(url: str = url) -> bool:
                try:
                    async with httpx.AsyncClient() as client:
                        return (await client.get(url)).status_code == 200
                except httpx.HTTPError:
                    return False

            await _until(healthy, 120, f"{name} to serve")
        yield group, ports, js
    finally:
        group.stop()
        await nc.close()
        await asyncio.to_thread(embedded.stop)


async def test_jobs_spread_survive_kill_9_and_complete_once(cluster, tmp_path):
    group, ports, js = cluster
    files = []
    for i, pieces in enumerate(PIECES):
        track = build_track(pieces, gap=0.05)
        files.append(write_audio(track.audio, tmp_path / f"clip{i}.mp3"))
    bases = [f"http://127.0.0.1:{ports['g1']}", f"http://127.0.0.1:{ports['g2']}"]

    # A Socket.IO client on gateway 2 only; half the uploads go through gateway 1.
    client = socketio.AsyncClient(reconnection=False)
    events: list[tuple[str, dict]] = []
    client.on("*", lambda event, data=None: events.append((event, data)))
    await client.connect(bases[1], transports=["websocket"])
    jobs: list[str] = []
    try:
        async with httpx.AsyncClient(timeout=120) as http:
            for i in range(JOBS):
                path = files[i % len(files)]
                with path.open("rb") as f:
                    r = await http.post(
                        f"{bases[i % 2]}/api/process",
                        files={"file": (path.name, f)},
                        data={"censor_method": "beep"},
                    )
                assert r.status_code == 202, r.text
                jobs.append(r.json()["job_id"])
                assert await client.call("join_job", {"job_id": jobs[-1]}) == {"joined": jobs[-1]}

            async def statuses() -> dict[str, str]:
                return {
                    j: (await http.get(f"{bases[0]}/api/jobs/{j}")).json()["status"] for j in jobs
                }

            # Once a few jobs are done, kill -9 one worker and one transcriber mid-run.
            async def some_done() -> bool:
                return sum(s == "completed" for s in (await statuses()).values()) >= 4

            await _until(some_done, 300, "the first jobs")
            group.processes["w1"].send_signal(signal.SIGKILL)
            group.processes["t1"].send_signal(signal.SIGKILL)

            async def all_done() -> bool:
                return all(s in ("completed", "failed") for s in (await statuses()).values())

            await _until(all_done, 600, "every job")
            final = await statuses()
            details = [(await http.get(f"{bases[1]}/api/jobs/{j}")).json() for j in jobs]
        await asyncio.sleep(1.0)
    finally:
        await client.disconnect()

    logs = "\n".join(group.log(n)[-3000:] for n in ("w1", "w2"))
    assert set(final.values()) == {"completed"}, (final, logs)
    assert all(d["words_censored"] == 1 for d in details), details
    # Both workers took jobs, and each job completed exactly once.
    assert "wrote " in group.log("w1") and "wrote " in group.log("w2")
    completed = Counter(data["job_id"] for event, data in events if event == "job_completed")
    assert completed == Counter({j: 1 for j in jobs}), completed
    # Progress from jobs uploaded through gateway 1 reached the client on gateway 2.
    progressed = {data["job_id"] for event, data in events if event == "job_progress"}
    assert set(jobs[0::2]) <= progressed
    info = await js.consumer_info(STREAM, CENSOR_CONSUMER)
    assert info.num_pending == 0 and info.num_ack_pending == 0
