"""Job Management and Statistics through HTTP, over job records in the real catalog."""

from __future__ import annotations

import uuid

import pytest

from cleantracks_proto import catalog_pb2 as pb


async def _job(client, name: str = "audio.mp3") -> str:
    job_id = str(uuid.uuid4())
    await client.call(
        "CreateJob",
        pb.CreateJobRequest(
            job_id=job_id, input_filename=name, censor_method="beep", min_severity="low"
        ),
    )
    return job_id


async def _finish(client, job_id: str, *, duration: float, detected: int, censored: int) -> None:
    await client.call("UpdateJob", pb.UpdateJobRequest(job_id=job_id, status="processing"))
    await client.call(
        "UpdateJob",
        pb.UpdateJobRequest(
            job_id=job_id,
            status="completed",
            output_filename="audio_censored.mp3",
            audio_duration_seconds=duration,
            words_detected=detected,
            words_censored=censored,
        ),
    )


CONTRACT_JOB_FIELDS = {
    "id",
    "job_id",
    "input_filename",
    "output_filename",
    "status",
    "started_at",
    "completed_at",
    "processing_time_seconds",
    "audio_duration_seconds",
    "words_detected",
    "words_censored",
    "error_message",
}


async def test_job_status_has_every_contract_field(stack):
    api, client = stack.http, stack.client
    job_id = await _job(client)
    r = await api.get(f"/api/jobs/{job_id}")
    assert r.status_code == 200
    queued = r.json()
    assert CONTRACT_JOB_FIELDS <= set(queued)
    assert queued["status"] == "queued"
    assert queued["started_at"] is None and queued["completed_at"] is None
    assert queued["error_message"] is None

    await _finish(client, job_id, duration=180.0, detected=15, censored=12)
    done = (await api.get(f"/api/jobs/{job_id}")).json()
    assert done["status"] == "completed"
    assert done["output_filename"] == "audio_censored.mp3"
    assert done["audio_duration_seconds"] == 180.0
    assert (done["words_detected"], done["words_censored"]) == (15, 12)
    assert done["started_at"].endswith("Z") and done["completed_at"].endswith("Z")
    assert done["started_at"] <= done["completed_at"]
    assert done["processing_time_seconds"] >= 0


async def test_failed_job_carries_error_message(stack):
    job_id = await _job(stack.client, "broken.mp3")
    await stack.client.call(
        "UpdateJob",
        pb.UpdateJobRequest(
            job_id=job_id, status="failed", error_message="Failed to process audio: Invalid format"
        ),
    )
    body = (await stack.http.get(f"/api/jobs/{job_id}")).json()
    assert body["status"] == "failed"
    assert body["error_message"] == "Failed to process audio: Invalid format"


async def test_list_jobs_newest_first_with_limit_and_status(fresh_stack):
    api, client = fresh_stack.http, fresh_stack.client
    ids = [await _job(client, f"track{i}.wav") for i in range(12)]
    await _finish(client, ids[0], duration=10, detected=1, censored=1)
    r = await api.get("/api/jobs")
    assert r.status_code == 200
    jobs = r.json()
    assert len(jobs) == 10  # the contract's default limit
    assert set(jobs[0]) == {"id", "job_id", "input_filename", "status", "created_at"}
    assert jobs[0]["job_id"] == ids[-1]
    assert len((await api.get("/api/jobs", params={"limit": 3})).json()) == 3
    completed = (await api.get("/api/jobs", params={"status": "completed"})).json()
    assert [j["job_id"] for j in completed] == [ids[0]]
    pending = (await api.get("/api/jobs", params={"status": "pending", "limit": 50})).json()
    assert len(pending) == 11 and all(j["status"] == "queued" for j in pending)


@pytest.mark.parametrize(
    "params, field",
    [({"limit": 0}, "limit"), ({"limit": "ten"}, "limit"), ({"status": "exploded"}, "status")],
)
async def test_list_jobs_bad_query_is_400(api, params, field):
    r = await api.get("/api/jobs", params=params)
    assert r.status_code == 400
    assert field in r.json()["error"]


async def test_unknown_job_is_404(api):
    r = await api.get(f"/api/jobs/{uuid.uuid4()}")
    assert r.status_code == 404
    assert "not found" in r.json()["error"]


async def test_statistics_follow_job_records(fresh_stack):
    api, client = fresh_stack.http, fresh_stack.client
    empty = (await api.get("/api/statistics")).json()
    assert empty == {
        "total_jobs": 0,
        "completed_jobs": 0,
        "failed_jobs": 0,
        "success_rate": 0.0,
        "total_audio_duration_hours": 0.0,
        "total_words_detected": 0,
        "total_words_censored": 0,
        "average_processing_time_seconds": 0.0,
    }
    done = [await _job(client) for _ in range(3)]
    for job_id, (duration, detected, censored) in zip(
        done, [(3600.0, 10, 8), (1800.0, 5, 5), (0.0, 0, 0)], strict=True
    ):
        await _finish(client, job_id, duration=duration, detected=detected, censored=censored)
    failed = await _job(client)
    await client.call(
        "UpdateJob", pb.UpdateJobRequest(job_id=failed, status="failed", error_message="bad")
    )
    await _job(client)  # still queued
    stats = (await api.get("/api/statistics")).json()
    assert stats["total_jobs"] == 5
    assert stats["completed_jobs"] == 3
    assert stats["failed_jobs"] == 1
    assert stats["success_rate"] == 60.0
    assert stats["total_audio_duration_hours"] == 1.5
    assert stats["total_words_detected"] == 15
    assert stats["total_words_censored"] == 13
    assert stats["average_processing_time_seconds"] >= 0
