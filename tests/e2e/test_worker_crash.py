"""A censor worker killed with SIGKILL mid-job: the job is redelivered, finished by another
worker, and completed exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from services.common.jobqueue import CENSOR_CONSUMER, STREAM
from tests.support.speech import build_track, write_audio


async def test_a_job_survives_its_worker_being_killed(censor_system, tmp_path):
    # About fifteen seconds of varied speech, so the job is still running when its worker
    # dies. (A sentence repeated over and over makes Whisper fall back to sampling at higher
    # temperatures, which gives a different transcript each time.)
    track = build_track(
        [
            ("What the", False),
            ("fuck", True),
            ("are you doing with my car?", False),
            ("This is a", False),
            ("damn", True),
            ("good song.", False),
            ("He is such an", False),
            ("asshole", True),
            ("and I do not like him at all.", False),
            ("Oh", False),
            ("shit,", True),
            ("I forgot my keys at home today.", False),
            ("She is a", False),
            ("bitch", True),
            ("and I do not like her.", False),
        ],
        gap=0.05,
    )
    source = write_audio(track.audio, tmp_path / "long.wav")
    events, subscription = await censor_system.events()
    before = await censor_system.js.consumer_info(STREAM, CENSOR_CONSUMER)
    async with censor_system.paused():
        doomed = await censor_system.start_worker()  # the only worker not held
        job_id = await censor_system.submit(source, censor_method="beep")
        deadline = time.monotonic() + 120
        while not any(e["job_id"] == job_id and e.get("stage") == "transcription" for e in events):
            assert time.monotonic() < deadline, "the job never started"
            await asyncio.sleep(0.05)
        doomed.process.send_signal(signal.SIGKILL)
        assert doomed.process.wait(10) == -signal.SIGKILL
        status = (await censor_system.http.get(f"/api/jobs/{job_id}")).json()["status"]
        assert status == "processing"
    # The held worker resumes and takes the job once its lease runs out.
    job = await censor_system.wait(job_id)
    await asyncio.sleep(1.0)
    await subscription.unsubscribe()

    assert job["status"] == "completed", job
    if job["words_censored"] != 5:
        logs = "\n".join(w.text()[-6000:] for w in censor_system.workers)
        pytest.fail(f"{json.dumps(job)}\n{json.dumps(events)}\n{logs}", pytrace=False)
    mine = [e for e in events if e["job_id"] == job_id]
    assert [e["type"] for e in mine].count("completed") == 1
    assert not [e for e in mine if e["type"] == "failed"]
    after = await censor_system.js.consumer_info(STREAM, CENSOR_CONSUMER)
    # Delivered at least twice: to the worker that died, then to the one that finished it.
    assert after.delivered.consumer_seq >= before.delivered.consumer_seq + 2
    assert after.num_ack_pending == 0 and after.num_pending == 0
    jobs = (await censor_system.http.get("/api/jobs", params={"limit": 1000})).json()
    assert [j["job_id"] for j in jobs].count(job_id) == 1
    r = await censor_system.http.get(f"/api/jobs/{job_id}/download")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
