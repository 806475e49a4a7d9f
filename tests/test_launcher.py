"""`make run`'s launcher end to end: starts everything embedded, serves, survives a restart with
its data, and Ctrl-C (SIGINT) stops every process it started."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from services.common.embedded import free_port

REPO = Path(__file__).resolve().parents[1]


def _launch(data_dir: Path, gateway_port: int, nats_port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")} | {
        "DATA_DIR": str(data_dir),
        "GATEWAY_PORT": str(gateway_port),
        "CATALOG_PORT": str(free_port()),
        "TRANSCRIBER_PORT": str(free_port()),
        "CENSOR_PORT": str(free_port()),
        "NATS_PORT": str(nats_port),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.launcher"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_banner(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            seen.append(line)
            if "Clean-Tracks is running at" in line:
                os.set_blocking(proc.stdout.fileno(), True)
                return line
            continue
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("launcher never printed its URL:\n" + "".join(seen[-40:]))


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _postgres_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or [])
        if "postgres" in cmdline and str(data_dir) in cmdline:
            found.append(p)
    return found


def _stop_with_ctrl_c(proc: subprocess.Popen[str], data_dir: Path) -> None:
    started = _descendants(proc.pid)
    assert len(started) >= 5  # catalog, transcriber, censor, gateway, nats-server
    proc.send_signal(signal.SIGINT)
    assert proc.wait(90) == 0
    gone, alive = psutil.wait_procs(started, timeout=30)
    assert not alive, f"orphans left: {[p.cmdline() for p in alive]}"
    deadline = time.monotonic() + 30
    while _postgres_of(data_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _postgres_of(data_dir), "embedded Postgres still running"


@pytest.fixture
def data_dir():
    # Outside pytest's temp root, which pytest makes private; Postgres runs as its own user.
    root = Path(tempfile.mkdtemp(prefix="cleantracks-launcher-"))
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


def test_make_run_serves_keeps_data_and_stops_cleanly(data_dir):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    name = f"persisted-{uuid.uuid4().hex[:8]}"

    proc = _launch(data_dir, port, free_port())
    try:
        banner = _wait_for_banner(proc)
        assert f"http://localhost:{port}" in banner
        assert httpx.get(f"{base}/api/health").json()["status"] == "healthy"
        lists = httpx.get(f"{base}/api/wordlists").json()
        assert lists[0]["name"] == "English - General" and lists[0]["word_count"] >= 150
        created = httpx.post(f"{base}/api/wordlists", json={"name": name})
        assert created.status_code == 201
        list_id = created.json()["id"]
        httpx.post(f"{base}/api/wordlists/{list_id}/words", json={"words": ["frak"]})
        # The noise-removal API's key is made once and kept in the data folder.
        key = (data_dir / "api-key").read_text().strip()
        assert (data_dir / "api-key").stat().st_mode & 0o777 == 0o600
        body = '{"input": "no-such-file"}'
        r = httpx.post(f"{base}/v1/remove-noise", content=body, headers={"x-api-key": key})
        assert r.status_code == 400 and "no uploaded file" in r.json()["error"]
        assert httpx.post(f"{base}/v1/remove-noise", content=body).status_code == 401
        _stop_with_ctrl_c(proc, data_dir)
    finally:
        if proc.poll() is None:
            proc.kill()

    # A second start on the same data folder: the list and its words are still there.
    proc = _launch(data_dir, port, free_port())
    try:
        _wait_for_banner(proc)
        detail = httpx.get(f"{base}/api/wordlists/{list_id}").json()
        assert detail["name"] == name and detail["total_words"] == 1
        # Migrations ran again without seeding a second default list.
        lists = httpx.get(f"{base}/api/wordlists", params={"active_only": "false"}).json()
        assert sum(wl["is_default"] for wl in lists) == 1
        assert (data_dir / "api-key").read_text().strip() == key
        _stop_with_ctrl_c(proc, data_dir)
    finally:
        if proc.poll() is None:
            proc.kill()
