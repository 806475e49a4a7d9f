"""Socket.IO at /socket.io/: python-socketio's AsyncClient, and the contract's JavaScript example
run by Node with socket.io-client, both against the gateway on a real port."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.conftest import REPO
from tests.support.speech import build_track, write_audio

NODE_DIR = REPO / "tests" / "node"
# "upload" comes from the gateway as the job is queued, so a client that joins with the
# upload's answer may or may not hear it; the worker's stages it always hears.
STAGES = ["upload", "decode", "transcription", "matching", "rendering", "verification", "encoding"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def speech_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    track = build_track(
        [("Oh", False), ("shit,", True), ("I forgot my keys at home today.", False)], gap=0.05
    )
    return write_audio(track.audio, tmp_path_factory.mktemp("rt") / "keys.mp3", channels=2)


class Recorder:
    """A Socket.IO client that records every event it receives, in order."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.finished = asyncio.Event()
        self.client.on("*", self._any)

    async def _any(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        if event in ("job_completed", "job_failed"):
            self.finished.set()

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]


async def _connect(base_url: str) -> Recorder:
    recorder = Recorder()
    await recorder.client.connect(base_url, socketio_path="socket.io", transports=["websocket"])
    for _ in range(100):
        if recorder.named("connected"):
            break
        await asyncio.sleep(0.05)
    return recorder


async def test_progress_reaches_the_job_room_in_the_contract_shape(censor_system, speech_file):
    watcher = await _connect(censor_system.base_url)
    leaver = await _connect(censor_system.base_url)
    try:
        assert watcher.named("connected") == [{"message": "Connected to Clean-Tracks server"}]
        assert await watcher.client.call("ping", {}) == {"message": "pong"}
        assert watcher.named("pong") == [{"message": "pong"}]
        assert await watcher.client.call("join_job", {}) == {"error": "job_id is required"}

        async with censor_system.paused():
            job_id = await censor_system.submit(speech_file, censor_method="beep")
            assert await watcher.client.call("join_job", {"job_id": job_id}) == {"joined": job_id}
            assert await leaver.client.call("join_job", {"job_id": job_id}) == {"joined": job_id}
            assert await leaver.client.call("leave_job", {"job_id": job_id}) == {"left": job_id}
        await asyncio.wait_for(watcher.finished.wait(), 240)
        await asyncio.sleep(0.5)
    finally:
        await watcher.client.disconnect()
        await leaver.client.disconnect()

    progress = watcher.named("job_progress")
    for event in progress:
        assert set(event) == {"job_id", "progress"} and event["job_id"] == job_id
        assert set(event["progress"]) == {"stage", "percent", "message", "timestamp"}
        assert 0.0 <= event["progress"]["percent"] <= 100.0
        assert event["progress"]["message"]
        assert TIMESTAMP.match(event["progress"]["timestamp"])
    stages = [e["progress"]["stage"] for e in progress]
    assert [s for s in STAGES if s in stages][-6:] == STAGES[1:], stages
    assert stages == sorted(stages, key=STAGES.index), "stages out of order"
    transcription = [
        e["progress"]["percent"] for e in progress if e["progress"]["stage"] == "transcription"
    ]
    assert transcription == sorted(transcription) and transcription[-1] == 100.0

    [completed] = watcher.named("job_completed")
    assert watcher.events[-1][0] == "job_completed"
    assert completed["job_id"] == job_id
    result = completed["result"]
    assert result["output_filename"] == "keys_censored.mp3"
    assert TIMESTAMP.match(result["timestamp"])
    stats = result["statistics"]
    assert stats["words_censored"] == 1 and stats["words_detected"] >= 1
    job = (await censor_system.http.get(f"/api/jobs/{job_id}")).json()
    assert stats["processing_time"] == pytest.approx(job["processing_time_seconds"], abs=0.01)
    assert watcher.named("job_failed") == []
    # The client that left the room heard nothing of the job.
    assert [e for e, _ in leaver.events if e.startswith("job_")] == []


async def test_a_client_joining_after_the_end_still_hears_it(censor_system, speech_file):
    job_id = await censor_system.submit(speech_file, censor_method="silence")
    job = await censor_system.wait(job_id)
    assert job["status"] == "completed"
    late = await _connect(censor_system.base_url)
    try:
        assert await late.client.call("join_job", {"job_id": job_id}) == {"joined": job_id}
        await asyncio.wait_for(late.finished.wait(), 10)
    finally:
        await late.client.disconnect()
    [completed] = late.named("job_completed")
    assert completed["result"]["output_filename"] == "keys_censored.mp3"
    assert completed["result"]["statistics"]["words_censored"] == job["words_censored"]


async def test_the_contract_javascript_example_runs_under_node(censor_system, speech_file):
    node = shutil.which("node")
    assert node, "Node.js is needed for this test (the machine has it; see the README)"
    assert (NODE_DIR / "node_modules" / "socket.io-client").is_dir(), "run make install"
    async with censor_system.paused():
        job_id = await censor_system.submit(speech_file, censor_method="white_noise")
        process = await asyncio.create_subprocess_exec(
            node,
            str(NODE_DIR / "run_contract_example.js"),
            env={**os.environ, "CLEAN_TRACKS_URL": censor_system.base_url, "JOB_ID": job_id},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        # Node connects and joins while the job waits in the queue.
        first = await asyncio.wait_for(process.stdout.readline(), 60)
        assert first.decode().strip() == "Connected to server"
        await asyncio.sleep(0.5)
    out, err = await asyncio.wait_for(process.communicate(), 240)
    stdout = out.decode()
    assert process.returncode == 0, stdout + err.decode()
    lines = stdout.splitlines()
    progress = [line for line in lines if line.startswith("Progress: ")]
    assert any(re.match(r"^Progress: [\d.]+% - Transcribing audio", p) for p in progress), lines
    assert "Progress: 100% - Encoded" in progress
    done = [line for line in lines if line.startswith("Job completed!")]
    assert len(done) == 1 and "keys_censored.mp3" in stdout and "words_censored: 1" in stdout
