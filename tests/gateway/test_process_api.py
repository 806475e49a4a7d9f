"""POST /api/process: validation, the stored upload, the job record and the queued job."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest

from services.common.jobqueue import CENSOR_SUBJECT, STREAM, CensorJob
from services.gateway.backends import Backends
from services.gateway.main import create_app
from services.gateway.settings import GatewaySettings
from tests.support.speech import write_audio


@pytest.fixture(scope="module")
async def process_stack(make_stack, nats_url):
    stack = await make_stack()
    bucket = f"test-{uuid.uuid4().hex[:8]}"
    backends = await Backends.connect(nats_url, bucket)
    app = create_app(
        GatewaySettings(catalog_address=stack.address, nats_url=nats_url, blob_bucket=bucket),
        catalog=stack.client,
        backends=backends,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http, backends
    await backends.close()


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    t = np.linspace(0, 1.0, 22050, endpoint=False)
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return write_audio(tone, tmp_path_factory.mktemp("audio") / "tone.wav")


async def _last_queued(backends: Backends) -> CensorJob:
    msg = await backends.js.get_last_msg(STREAM, CENSOR_SUBJECT)
    return CensorJob.from_json(msg.data)


async def test_accepted_upload_is_stored_recorded_and_queued(process_stack, wav):
    http, backends = process_stack
    with wav.open("rb") as f:
        r = await http.post(
            "/api/process",
            files={"file": ("my song.wav", f, "audio/wav")},
            data={"censor_method": "silence", "min_severity": "medium"},
        )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued"
    assert body["message"] == "File uploaded and queued for processing"
    job_id = body["job_id"]
    uuid.UUID(job_id)

    record = (await http.get(f"/api/jobs/{job_id}")).json()
    assert record["status"] == "queued" and record["input_filename"] == "my song.wav"
    job = await _last_queued(backends)
    assert job.job_id == job_id
    assert (job.censor_method, job.min_severity) == ("silence", "medium")
    assert await backends.blobs.size(job.input_key) == wav.stat().st_size
    assert job.input_key in await backends.blobs.keys("uploads/")
    # The defaults come from the settings: the default list.
    lists = (await http.get("/api/wordlists")).json()
    assert job.word_list_id == next(wl["id"] for wl in lists if wl["is_default"])


@pytest.mark.parametrize(
    "name, content, data, needle",
    [
        ("notes.mp3", b"this is just text, not audio\n" * 50, {}, "not a decodable audio"),
        ("empty.mp3", b"", {}, "empty"),
        ("tone.wav", None, {"censor_method": "foo"}, "censor_method"),
        ("tone.wav", None, {"min_severity": "bar"}, "min_severity"),
        ("tone.wav", None, {"word_list_id": "987654"}, "word_list_id"),
        ("tone.wav", None, {"word_list_id": "abc"}, "word_list_id"),
        ("tone.wav", None, {"denoise": "101"}, "denoise"),
        ("tone.wav", None, {"denoise": "-1"}, "denoise"),
    ],
)
async def test_bad_input_is_400_and_stores_nothing(process_stack, wav, name, content, data, needle):
    http, backends = process_stack
    before = len((await http.get("/api/jobs", params={"limit": 1000})).json())
    stored = await backends.blobs.keys()
    payload = wav.read_bytes() if content is None else content
    r = await http.post("/api/process", files={"file": (name, payload)}, data=data)
    assert r.status_code == 400, r.text
    assert needle in r.json()["error"]
    after = len((await http.get("/api/jobs", params={"limit": 1000})).json())
    assert after == before
    assert await backends.blobs.keys() == stored


async def test_truncated_mp3_is_400(process_stack, tmp_path):
    http, backends = process_stack
    t = np.linspace(0, 2.0, 44100, endpoint=False)
    mp3 = write_audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), tmp_path / "a.mp3")
    stored = await backends.blobs.keys()
    r = await http.post("/api/process", files={"file": ("a.mp3", mp3.read_bytes()[:300])})
    assert r.status_code == 400, r.text
    assert "not a decodable audio" in r.json()["error"]
    assert await backends.blobs.keys() == stored


async def test_missing_file_is_400(process_stack):
    http, _ = process_stack
    r = await http.post("/api/process", data={"censor_method": "beep"})
    assert r.status_code == 400
    assert "file" in r.json()["error"]
