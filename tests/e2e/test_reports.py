"""Reports: a dry run's transcript, and re-rendering it with edited spans without transcribing."""

from __future__ import annotations

import numpy as np
import pytest

from services.common import media
from tests.support.measure import compare
from tests.support.speech import RATE, build_track, write_audio

PIECES = [
    ("What the", False),
    ("fuck", True),
    ("are you doing with my car?", False),
    ("This is a", False),
    ("damn", True),
    ("good song.", False),
]


@pytest.fixture(scope="module")
def track():
    return build_track(PIECES, gap=0.05)


async def test_dry_run_transcript_then_an_edited_render(censor_system, track, tmp_path):
    source = write_audio(track.audio, tmp_path / "talk.wav")
    job_id = await censor_system.submit(source, censor_method="silence", dry_run="true")
    job = await censor_system.wait(job_id)
    assert job["status"] == "completed" and job["dry_run"] is True, job
    assert job["output_filename"] is None and job["words_censored"] == 2
    r = await censor_system.http.get(f"/api/jobs/{job_id}/download")
    assert r.status_code == 400 and "dry run" in r.json()["error"]

    report = (await censor_system.http.get(f"/api/jobs/{job_id}/transcript")).json()
    assert report["job_id"] == job_id and report["dry_run"] is True
    texts = [w["text"].strip(",.?").lower() for w in report["words"]]
    assert "fuck" in texts and "car" in texts
    for word in report["words"]:
        assert 0 <= word["start"] <= word["end"] <= report["duration_seconds"]
        assert 0 <= word["probability"] <= 1
    censored = report["censored"]
    assert [c["entry"] for c in censored] == ["fuck", "damn"]
    for c, (start, end) in zip(censored, track.explicit, strict=True):
        assert c["severity"] in ("low", "medium", "high", "extreme") and c["category"]
        assert c["whisper_start"] < c["whisper_end"] and c["start"] < c["end"]
        assert c["start"] < end and c["end"] > start  # it covers the true word
        assert c["widened"] is False and c["source"] == "auto"
        assert report["words"][c["first_word"]]["text"].lower().startswith(c["entry"][:2])
    assert len(report["spans"]) == 2
    # Whisper's ends come early: the refined spans reach further than its times.
    assert any(c["end"] > c["whisper_end"] for c in censored)

    # Keep "damn", censor "car" instead of "fuck", with a beep: no transcription this time.
    car = next(w for w in report["words"] if w["text"].strip("?").lower() == "car")
    events, subscription = await censor_system.events()
    r = await censor_system.http.post(
        f"/api/jobs/{job_id}/render",
        json={"remove": [1], "add": [{"start": car["start"], "end": car["end"]}]},
    )
    assert r.status_code == 202, r.text
    new_id = r.json()["job_id"]
    assert r.json()["status"] == "queued"
    job = await censor_system.wait(new_id)
    await subscription.unsubscribe()
    assert job["status"] == "completed" and job["source_job_id"] == job_id, job
    stages = {e.get("stage") for e in events if e["job_id"] == new_id}
    assert "transcription" not in stages and "rendering" in stages
    edited = (await censor_system.http.get(f"/api/jobs/{new_id}/transcript")).json()
    assert [c.get("entry") for c in edited["censored"]] == ["fuck", None]
    assert edited["censored"][1]["source"] == "manual"

    out = tmp_path / "talk_censored.wav"
    await censor_system.download(new_id, out)
    before, after = media.decode(source).samples, media.decode(out).samples
    fuck, damn = track.explicit
    result = compare(before, after, RATE, [fuck])
    assert result.replaced[0] >= 0.9
    dmn = slice(int((damn[0] + 0.03) * RATE), int((damn[1] - 0.03) * RATE))
    assert np.array_equal(after[dmn], before[dmn])  # no longer censored: untouched (WAV)
    cr = slice(int((car["start"] + 0.02) * RATE), int((car["end"] - 0.02) * RATE))
    assert np.sqrt(np.mean(after[cr] ** 2)) < 1e-4  # censored, with silence as before


@pytest.fixture(scope="module")
async def dry_job(censor_system, track, tmp_path_factory):
    source = write_audio(track.audio, tmp_path_factory.mktemp("dry") / "t.wav")
    job_id = await censor_system.submit(source, dry_run="true")
    assert (await censor_system.wait(job_id))["status"] == "completed"
    return job_id


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"remove": [7]}, "index 7"),
        ({"add": [{"start": 1.0, "end": 99.0}]}, "within"),
        ({"add": [{"start": 2.0, "end": 1.0}]}, "within"),
        ({"censor_method": "foo"}, "censor_method"),
        ({"bogus": 1}, "bogus"),
    ],
)
async def test_bad_render_requests_are_400(censor_system, dry_job, body, needle):
    r = await censor_system.http.post(f"/api/jobs/{dry_job}/render", json=body)
    assert r.status_code == 400, r.text
    assert needle in r.json()["error"]


async def test_unknown_jobs_have_no_transcript(censor_system):
    r = await censor_system.http.get("/api/jobs/no-such-job/transcript")
    assert r.status_code == 404
    r = await censor_system.http.post("/api/jobs/no-such-job/render", json={})
    assert r.status_code == 404


async def test_a_lists_allow_list_is_never_censored(censor_system, track, tmp_path):
    http = censor_system.http
    r = await http.post("/api/wordlists", json={"name": "allow-e2e"})
    list_id = r.json()["id"]
    await http.post(
        f"/api/wordlists/{list_id}/words",
        json={"words": {"fuck": {"severity": "high"}, "damn": {"severity": "low"}}},
    )
    r = await http.put(f"/api/wordlists/{list_id}", json={"allow": ["Damn"]})
    assert r.status_code == 200, r.text
    assert (await http.get(f"/api/wordlists/{list_id}")).json()["allow"] == ["damn"]
    source = write_audio(track.audio, tmp_path / "allow.wav")
    job_id = await censor_system.submit(source, word_list_id=list_id, dry_run="true")
    assert (await censor_system.wait(job_id))["status"] == "completed"
    report = (await http.get(f"/api/jobs/{job_id}/transcript")).json()
    assert [c["entry"] for c in report["censored"]] == ["fuck"]
    assert report["words_detected"] == 1
