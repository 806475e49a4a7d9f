"""The noise-removal API under /v1, end to end: upload, remove-noise, status by polling and by
WebSocket, download, URL input and presigned-style PUT output, and every bad input."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import websockets

from cleantracks_proto import catalog_pb2 as pb
from services.common import media
from tests.e2e.conftest import API_KEY
from tests.support.speech import RATE, build_track, write_audio

KEY = {"x-api-key": API_KEY}
# What curl -d sends: the JSON text as a form-encoded body.
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """Speech with white noise at 5 dB SNR, as a stereo WAV; also the clean and noisy arrays."""
    track = build_track(
        [("This is a", False), ("damn", True), ("good song.", False)], gap=0.05, lead=1.0
    )
    speech = track.audio
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(speech.shape).astype(np.float32)
    speech_power = np.mean(speech[np.abs(speech) > 0.01] ** 2)
    noise *= np.sqrt(speech_power / 10 ** (5 / 10) / np.mean(noise**2))
    mixed = np.clip(speech + noise, -1, 1).astype(np.float32)
    path = write_audio(mixed, tmp_path_factory.mktemp("noisy") / "noisy.wav", channels=2)
    return path, speech, mixed


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


async def _upload(system, path: Path, **params: str) -> str:
    with path.open("rb") as f:
        r = await system.http.post(
            "/v1/upload", files={"file": (path.name, f)}, headers=KEY, params=params
        )
    assert r.status_code == 200, r.text
    return str(r.json()["fileId"])


async def _remove_noise(system, body: dict[str, Any]) -> str:
    r = await system.http.post(
        "/v1/remove-noise", content=json.dumps(body), headers={**KEY, **FORM}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["jobId"])


async def _poll(system, job_id: str, timeout: float = 240) -> list[dict[str, Any]]:
    """Every distinct status seen until the job ends."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await system.http.get(f"/v1/remove-noise/{job_id}/status", headers=KEY)
        assert r.status_code == 200, r.text
        state = r.json()
        if not seen or seen[-1] != state:
            seen.append(state)
        if state["state"] in ("succeeded", "failed"):
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end: {seen}")


async def test_upload_remove_noise_poll_and_download(censor_system, noisy, tmp_path):
    path, speech, mixed = noisy
    file_id = await _upload(censor_system, path)
    job_id = await _remove_noise(censor_system, {"input": file_id, "noiseReductionAmount": "90"})
    seen = await _poll(censor_system, job_id)
    final = seen[-1]
    assert final["state"] == "succeeded", seen
    assert set(final) == {"state", "downloadPath"}
    assert final["downloadPath"].startswith("dl/artifacts/clean/audo_enhanced_")
    assert final["downloadPath"].endswith(".wav")
    for state in seen[:-1]:
        if state["state"] == "queued":
            assert set(state) == {"state", "jobsAhead"} and state["jobsAhead"] >= 0
        else:
            assert state["state"] == "in_progress" and set(state) == {"state", "percent"}
            assert 0 <= state["percent"] <= 100

    # The artifact downloads without a key, by prepending the base URL plus /v1/.
    r = await censor_system.http.get(f"/v1/{final['downloadPath']}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "audio/wav"
    out = tmp_path / "clean.wav"
    out.write_bytes(r.content)
    before, after = media.decode(path), media.decode(out)
    assert after.samples.shape == before.samples.shape  # same length, rate and channels
    assert after.sample_rate == before.sample_rate
    # The noise alone (the leading second holds no speech) is far quieter; speech remains.
    lead = slice(int(0.1 * RATE), int(0.9 * RATE))
    assert _rms_db(after.samples[lead]) < _rms_db(before.samples[lead]) - 15
    voiced = np.abs(speech) > 0.05
    assert _rms_db(after.samples[voiced, 0]) > _rms_db(speech[voiced]) - 6
    snr_before = _rms_db(speech) - _rms_db(mixed - speech)
    snr_after = _rms_db(speech) - _rms_db(after.samples[:, 0] - speech)
    assert snr_after > snr_before + 5, (snr_before, snr_after)


async def test_the_websocket_streams_states_until_the_end(censor_system, noisy):
    path, _, _ = noisy
    file_id = await _upload(censor_system, path)
    url = censor_system.base_url.replace("http://", "ws://")
    messages: list[dict[str, Any]] = []
    async with censor_system.paused():
        job_id = await _remove_noise(censor_system, {"input": file_id, "outputExtension": "mp3"})
        socket = await websockets.connect(
            f"{url}/v1/wss/remove-noise/{job_id}/status", additional_headers=KEY
        )
        messages.append(json.loads(await asyncio.wait_for(socket.recv(), 30)))
    async with socket:
        async for raw in socket:  # ends when the server closes after the final state
            messages.append(json.loads(raw))
    assert messages[0] == {"state": "queued", "jobsAhead": 0}
    assert messages[-1]["state"] == "succeeded", messages
    assert messages[-1]["downloadPath"].endswith(".mp3")
    percents = [m["percent"] for m in messages if m["state"] == "in_progress"]
    assert percents and percents == sorted(percents)
    assert socket.close_code == 1000
    polled = await censor_system.http.get(f"/v1/remove-noise/{job_id}/status", headers=KEY)
    assert polled.json() == messages[-1]


class _Files(BaseHTTPRequestHandler):
    """Serves the input, stalls on /slow, and records PUTs: the test's stand-in for S3."""

    files: dict[str, bytes] = {}
    puts: list[tuple[str, str, bytes]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/slow"):
            time.sleep(30)
            return
        body = self.files.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        self.puts.append((self.path, self.headers.get("Content-Type", ""), self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def file_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()


async def test_a_url_input_with_a_presigned_put_output(censor_system, noisy, file_server, tmp_path):
    path, _, _ = noisy
    decoded = media.decode(path)
    mp3 = tmp_path / "podcast.mp3"
    media.encode(decoded.samples, decoded.sample_rate, path, mp3, output_format="mp3")
    _Files.files["/episodes/podcast.mp3"] = mp3.read_bytes()
    _Files.puts.clear()
    output = (
        f"{file_server}/bucket/audo-enhanced_podcast.mp3?AWSAccessKeyId=ABC"
        "&Signature=e8O%3D&content-type=audio%2Fmpeg&Expires=1615340231"
    )
    job_id = await _remove_noise(
        censor_system,
        {"input": f"{file_server}/episodes/podcast.mp3?X-Amz-Signature=abc", "output": output},
    )
    seen = await _poll(censor_system, job_id)
    assert seen[0] == {"state": "downloading"} or seen[0]["state"] in ("queued", "in_progress")
    assert seen[-1]["state"] == "succeeded", seen
    assert seen[-1]["downloadPath"].endswith(".mp3")
    [(put_path, content_type, body)] = _Files.puts
    assert put_path.startswith("/bucket/audo-enhanced_podcast.mp3?")
    assert content_type == "audio/mpeg"
    artifact = await censor_system.http.get(f"/v1/{seen[-1]['downloadPath']}")
    assert artifact.content == body and len(body) > 1000


def _write_video(path: Path, audio: np.ndarray) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=10)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        sound = out.add_stream("aac", rate=RATE, layout="mono")
        for i in range(int(audio.shape[0] / RATE * 10)):
            image = np.full((64, 64, 3), (i * 9) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=RATE, frame_size=1024)
        frame = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = RATE
        for converted in [*resampler.resample(frame), *resampler.resample(None)]:
            out.mux(sound.encode(converted))
        out.mux(sound.encode(None))


def _video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


async def test_a_video_comes_back_as_video_in_the_asked_container(censor_system, noisy, tmp_path):
    _, _, mixed = noisy
    clip = tmp_path / "clip.mp4"
    _write_video(clip, mixed)
    file_id = await _upload(censor_system, clip)
    job_id = await _remove_noise(censor_system, {"input": file_id, "outputExtension": "mkv"})
    seen = await _poll(censor_system, job_id)
    assert seen[-1]["state"] == "succeeded", seen
    r = await censor_system.http.get(f"/v1/{seen[-1]['downloadPath']}")
    assert r.headers["content-type"] == "video/x-matroska"
    out = tmp_path / "clip.mkv"
    out.write_bytes(r.content)
    assert media.probe(out).kind == "mkv"
    assert _video_packets(out) == _video_packets(clip)


async def test_keys_are_required_and_catalog_keys_work(censor_system, noisy):
    path, _, _ = noisy
    with path.open("rb") as f:
        r = await censor_system.http.post("/v1/upload", files={"file": ("a.wav", f)})
    assert r.status_code == 401 and "x-api-key" in r.json()["error"]
    r = await censor_system.http.get("/v1/remove-noise/x/status", headers={"x-api-key": "nope"})
    assert r.status_code == 401 and r.json() == {"error": "invalid API key"}
    created = await censor_system.stack.client.call(
        "CreateApiKey", pb.CreateApiKeyRequest(name="e2e")
    )
    with path.open("rb") as f:
        r = await censor_system.http.post(
            "/v1/upload",
            files={"file": ("a.wav", f)},
            headers={"x-api-key": created.secret},
            params={"inputExt": "wav"},
        )
    assert r.status_code == 200 and r.json()["fileId"]
    url = censor_system.base_url.replace("http://", "ws://")
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{url}/v1/wss/remove-noise/x/status")


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"noiseReductionAmount": 0}, "noiseReductionAmount"),
        ({"noiseReductionAmount": "101"}, "noiseReductionAmount"),
        ({"noiseReductionAmount": "abc"}, "noiseReductionAmount"),
        ({"outputExtension": "exe"}, "outputExtension"),
        ({"output": "ftp://example.com/x"}, "output"),
        ({"input": "0b2c1a5e-1111-4222-8333-944445555666"}, "no uploaded file"),
        ({"input": "not-a-file-id"}, "no uploaded file"),
        ({"input": ""}, "input is required"),
    ],
)
async def test_bad_requests_are_400(censor_system, noisy, body, needle):
    path, _, _ = noisy
    file_id = await _upload(censor_system, path)
    r = await censor_system.http.post(
        "/v1/remove-noise", content=json.dumps({"input": file_id, **body}), headers=KEY
    )
    assert r.status_code == 400, r.text
    assert needle in r.json()["error"]


async def test_a_file_that_is_not_audio_is_refused_at_upload(censor_system):
    r = await censor_system.http.post(
        "/v1/upload", files={"file": ("notes.wav", b"just some text\n" * 100)}, headers=KEY
    )
    assert r.status_code == 400 and "not a decodable audio" in r.json()["error"]
    r = await censor_system.http.post("/v1/remove-noise", content=b"{not json", headers=KEY)
    assert r.status_code == 400 and "JSON" in r.json()["error"]


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1:9/a.mp3", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("{server}/slow.mp3", "timed out"),
        ("{server}/missing.mp3", "404"),
    ],
)
async def test_refused_urls_fail_the_job_with_a_reason(censor_system, file_server, url, reason):
    job_id = await _remove_noise(censor_system, {"input": url.format(server=file_server)})
    seen = await _poll(censor_system, job_id)
    assert seen[-1]["state"] == "failed", seen
    assert reason in seen[-1]["reason"]
    assert censor_system.workers[0].process.poll() is None  # the worker lives on
