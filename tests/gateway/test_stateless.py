"""Two gateway processes over one catalog process see the same data: the gateway holds no state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from services.common.embedded import free_port


def _spawn(module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not healthy in {timeout}s")


@pytest.fixture
def processes(make_database, nats_url):
    database_url = make_database()
    catalog_port = free_port()
    procs = [
        _spawn(
            "services.catalog.server",
            {
                "DATABASE_URL": database_url,
                "CATALOG_HOST": "127.0.0.1",
                "CATALOG_PORT": str(catalog_port),
            },
        )
    ]
    urls = []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(
                _spawn(
                    "services.gateway.server",
                    {
                        "GATEWAY_HOST": "127.0.0.1",
                        "GATEWAY_PORT": str(port),
                        "CATALOG_ADDRESS": f"127.0.0.1:{catalog_port}",
                        "NATS_URL": nats_url,
                    },
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs[1:], strict=True):
            _wait_healthy(f"{url}/api/health", proc)
        yield urls, procs
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_two_gateways_share_one_catalog(processes):
    (a, b), procs = processes
    name = f"shared-{uuid.uuid4().hex[:8]}"
    created = httpx.post(f"{a}/api/wordlists", json={"name": name, "description": "via A"})
    assert created.status_code == 201
    list_id = created.json()["id"]
    added = httpx.post(
        f"{b}/api/wordlists/{list_id}/words",
        json={"words": {"frick": {"severity": "low", "category": "profanity"}}},
    )
    assert added.status_code == 200
    detail = httpx.get(f"{a}/api/wordlists/{list_id}").json()
    assert detail["name"] == name and detail["total_words"] == 1 and detail["version"] == 2
    httpx.put(f"{a}/api/settings", json={"user_id": name, "theme": "dark"})
    assert httpx.get(f"{b}/api/settings", params={"user_id": name}).json()["ui"]["theme"] == "dark"
    # The same name through the other gateway is a duplicate.
    dup = httpx.post(f"{b}/api/wordlists", json={"name": name})
    assert dup.status_code == 400

    # SIGTERM stops every process gracefully. uvicorn re-raises the signal once it has shut
    # down, so a gateway's exit code is -SIGTERM after "Application shutdown complete".
    catalog, *gateways = procs
    for proc in gateways:
        proc.terminate()
        assert proc.wait(30) in (0, -signal.SIGTERM)
        assert proc.stderr is not None
        assert "Application shutdown complete" in proc.stderr.read().decode()
    catalog.terminate()
    assert catalog.wait(30) == 0
