"""The whole censoring system for end-to-end tests, every part real.

One system for the e2e package: its own embedded NATS (so no other test's queued
jobs reach its workers), a catalog on a fresh database, a transcriber server over the
session's Whisper model, censor workers as separate processes, and the gateway served by
uvicorn on a real port so HTTP, Socket.IO and Node clients all talk to it over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.aio.client
import pytest
from nats.js import JetStreamContext

from services.common.embedded import EmbeddedNats, free_port, start_nats
from services.common.jobqueue import PROGRESS_PREFIX, ensure_queue
from services.gateway.main import create_asgi
from services.gateway.settings import GatewaySettings
from services.transcriber.core import Transcriber
from services.transcriber.server import create_server as create_transcriber
from services.transcriber.settings import TranscriberSettings
from tests.conftest import REPO, Stack
from tests.support.serving import serve_gateway

# Short enough that a killed worker's job is redelivered quickly, long enough for heartbeats
# (every third of it) to keep a live job leased on a loaded machine.
ACK_WAIT_SECONDS = 9.0
FINAL = ("completed", "failed")
API_KEY = "e2e-test-key"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class CensorSystem:
    base_url: str
    http: httpx.AsyncClient
    nats_url: str
    nc: nats.aio.client.Client
    js: JetStreamContext
    stack: Stack
    bucket: str
    start_worker: Callable[[], Awaitable[Worker]]
    workers: list[Worker] = field(default_factory=list)

    async def submit(self, path: Path, **fields: Any) -> str:
        """Uploads a file through POST /api/process; returns the job id."""
        with path.open("rb") as f:
            r = await self.http.post(
                "/api/process",
                files={"file": (path.name, f, "application/octet-stream")},
                data={k: str(v) for k, v in fields.items()},
            )
        assert r.status_code == 202, r.text
        return str(r.json()["job_id"])

    async def wait(self, job_id: str, timeout: float = 240.0) -> dict[str, Any]:
        """Polls GET /api/jobs/{id} until the job is completed or failed."""
        deadline = time.monotonic() + timeout
        while True:
            r = await self.http.get(f"/api/jobs/{job_id}")
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            if body["status"] in FINAL:
                return body
            if time.monotonic() > deadline:
                logs = "\n".join(w.text()[-3000:] for w in self.workers)
                raise AssertionError(f"job {job_id} still {body['status']}; worker logs:\n{logs}")
            await asyncio.sleep(0.25)

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Holds every running worker (SIGSTOP) so a job stays queued; resumes them after."""
        running = [w for w in self.workers if w.process.poll() is None]
        for worker in running:
            worker.process.send_signal(signal.SIGSTOP)
        await asyncio.sleep(2.5)  # a pull request a worker had open expires (2 s)
        try:
            yield
        finally:
            for worker in running:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signal.SIGCONT)

    async def events(self) -> tuple[list[dict[str, Any]], Any]:
        """Collects every job event published on NATS from now on, with its subscription."""
        seen: list[dict[str, Any]] = []

        async def collect(msg: Any) -> None:
            seen.append(json.loads(msg.data))

        sub = await self.nc.subscribe(f"{PROGRESS_PREFIX}.*", cb=collect)
        return seen, sub

    async def download(self, job_id: str, to: Path) -> httpx.Response:
        r = await self.http.get(f"/api/jobs/{job_id}/download")
        assert r.status_code == 200, r.text
        to.write_bytes(r.content)
        return r


@pytest.fixture(scope="package")
async def censor_system(
    make_stack: Callable[[], Awaitable[Stack]],
    transcriber: Transcriber,
    models_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[CensorSystem]:
    work = tmp_path_factory.mktemp("e2e")
    embedded: EmbeddedNats = await asyncio.to_thread(start_nats, work / "nats")
    nc = await nats.connect(embedded.url)
    js = nc.jetstream(timeout=30)
    await ensure_queue(js, ack_wait=ACK_WAIT_SECONDS, max_deliver=5)
    stack = await make_stack()
    tserver = create_transcriber(
        TranscriberSettings(host="127.0.0.1", port=0, models_dir=models_dir),
        transcriber=transcriber,
    )
    await tserver.start()
    bucket = f"e2e-{uuid.uuid4().hex[:8]}"
    port = free_port()
    gateway_settings = GatewaySettings(
        host="127.0.0.1",
        port=port,
        catalog_address=stack.address,
        nats_url=embedded.url,
        blob_bucket=bucket,
        api_keys=[API_KEY],
    )
    server, serving = await serve_gateway(create_asgi(gateway_settings), port)
    workers: list[Worker] = []

    async def start_worker() -> Worker:
        log = work / f"worker-{len(workers)}.log"
        env = {
            **os.environ,
            "CENSOR_NATS_URL": embedded.url,
            "CENSOR_CATALOG_ADDRESS": stack.address,
            "CENSOR_TRANSCRIBER_ADDRESS": f"127.0.0.1:{tserver.port}",
            "CENSOR_HOST": "127.0.0.1",
            "CENSOR_PORT": "0",
            "CENSOR_BLOB_BUCKET": bucket,
            "CENSOR_ACK_WAIT_SECONDS": str(ACK_WAIT_SECONDS),
            "CENSOR_WORK_DIR": str(work),
            # The tests' own HTTP server is reached as "localhost"; 127.0.0.1 stays refused.
            "CENSOR_URL_ALLOWED_HOSTS": "localhost",
            "CENSOR_URL_TIMEOUT_SECONDS": "8",
            "CENSOR_DENOISE_THREADS": "2",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.censor.server"],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, log)
        workers.append(worker)
        deadline = time.monotonic() + 120
        while "censor worker running" not in worker.text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"censor worker did not start:\n{worker.text()[-3000:]}")
            await asyncio.sleep(0.1)
        return worker

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        system = CensorSystem(
            base_url=f"http://127.0.0.1:{port}",
            http=http,
            nats_url=embedded.url,
            nc=nc,
            js=js,
            stack=stack,
            bucket=bucket,
            start_worker=start_worker,
            workers=workers,
        )
        await start_worker()
        try:
            yield system
        finally:
            for worker in workers:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signal.SIGCONT)
                    worker.process.terminate()
            for worker in workers:
                try:
                    await asyncio.to_thread(worker.process.wait, 30)
                except subprocess.TimeoutExpired:
                    worker.process.kill()
            server.should_exit = True
            await serving
            await tserver.stop(1.0)
            await nc.close()
            await asyncio.to_thread(embedded.stop)
