"""A job whose file passes the upload check but cannot be decoded fails with a readable reason,
and the worker goes on to the next job."""

from __future__ import annotations

import asyncio

import numpy as np
import socketio

from tests.support.speech import build_track, write_audio


def _corrupt_m4a(path):
    """Overwrites most of the AAC payload with noise, keeping the first packets intact."""
    data = bytearray(path.read_bytes())
    mdat = data.find(b"mdat") + 4
    size = int.from_bytes(data[mdat - 8 : mdat - 4], "big")
    start, end = mdat + (size - 8) // 10, mdat - 8 + size
    rng = np.random.default_rng(7)
    data[start:end] = rng.integers(0, 256, end - start, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


async def test_a_file_that_fails_to_decode_fails_its_job_and_not_the_worker(
    censor_system, tmp_path
):
    track = build_track([("This is a", False), ("damn", True), ("good song.", False)], gap=0.05)
    bad = _corrupt_m4a(write_audio(np.tile(track.audio, 2), tmp_path / "broken.m4a"))
    failures = []
    client = socketio.AsyncClient(reconnection=False)
    failed = asyncio.Event()

    @client.on("job_failed")
    async def on_failed(data):
        failures.append(data)
        failed.set()

    await client.connect(censor_system.base_url, transports=["websocket"])
    try:
        async with censor_system.paused():
            job_id = await censor_system.submit(bad, censor_method="beep")  # passes the probe
            assert await client.call("join_job", {"job_id": job_id}) == {"joined": job_id}
        job = await censor_system.wait(job_id)
        await asyncio.wait_for(failed.wait(), 30)
    finally:
        await client.disconnect()

    assert job["status"] == "failed"
    message = job["error_message"]
    assert message.startswith("Failed to process audio: broken.m4a is not a decodable audio file")
    assert "corrupt" in message and "packets could not be decoded" in message
    assert job["completed_at"] is not None and job["output_filename"] is None
    assert failures == [{"job_id": job_id, "error": message}]
    r = await censor_system.http.get(f"/api/jobs/{job_id}/download")
    assert r.status_code == 400 and "no result" in r.json()["error"]

    # The worker lived through it and takes the next job.
    assert all(w.process.poll() is None for w in censor_system.workers)
    good = write_audio(track.audio, tmp_path / "fine.flac")
    after = await censor_system.wait(await censor_system.submit(good, censor_method="silence"))
    assert after["status"] == "completed" and after["words_censored"] == 1
