"""A censor worker killed with SIGKILL mid-job: the job is redelivered, finished by another
worker, and completed exactly once."""

from __future__ import annotations

import asyncio
import signal
import time

import numpy as np

from services.common.jobqueue import CENSOR_CONSUMER, STREAM
from tests.support.speech import build_track, write_audio


async def test_a_job_survives_its_worker_being_killed(censor_system, tmp_path):
    track = build_track(
        [("What the", False), ("fuck", True), ("are you doing with my car?", False)], gap=0.05
    )
    # About twenty seconds of speech, so the job is still running when its worker dies.
    source = write_audio(np.tile(track.audio, 6), tmp_path / "long.wav")
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
    logs = "\n".join(w.text()[-4000:] for w in censor_system.workers)
    assert job["words_censored"] == 6, (job, logs)
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
