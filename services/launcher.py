"""`make run`: embedded Postgres and NATS, then every service as a supervised child process."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.catalog import apikeys
from services.common.embedded import pdeathsig_preexec, start_nats, start_postgres
from services.common.logging_setup import configure_logging

__all__ = ["LauncherSettings", "Service", "main", "run", "services_to_start"]

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.5
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")
# Probes go straight to 127.0.0.1, never through an http_proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LauncherSettings(BaseSettings):
    """Environment: DATA_DIR, DATABASE_URL, NATS_URL, GATEWAY_*, CATALOG_PORT, NATS_PORT."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, description="An existing Postgres; unset starts the embedded one"
    )
    nats_url: str | None = Field(
        default=None, description="An existing NATS with JetStream; unset starts the embedded one"
    )
    gateway_host: str = "0.0.0.0"
    gateway_port: int = Field(default=5000, ge=1, le=65535)
    catalog_port: int = Field(default=50051, ge=1, le=65535)
    transcriber_port: int = Field(default=50052, ge=1, le=65535)
    censor_port: int = Field(default=50053, ge=1, le=65535)
    nats_port: int = Field(
        default=4222, ge=1, le=65535, description="Embedded NATS; a free port if this one is taken"
    )
    start_timeout_seconds: float = Field(default=180.0, gt=0)
    stop_timeout_seconds: float = Field(default=15.0, gt=0)


@dataclass(frozen=True)
class Service:
    """One child process: ``python -m <module>`` with extra environment, ready when probed."""

    name: str
    module: str
    env: dict[str, str]
    ready: Callable[[], bool]


def run(settings: LauncherSettings, stop: threading.Event | None = None) -> int:
    """Start everything, supervise until stopped, then stop everything in reverse order.

    SIGINT and SIGTERM set ``stop`` when called from the main thread.

    Args:
        settings: Where data lives, which servers to use, which ports to serve on.
        stop: Set it to shut down; a fresh one is made when None.

    Returns:
        0 after a requested stop, 1 when something failed to start or exited unexpectedly.
    """
    stop = stop if stop is not None else threading.Event()
    previous = _handle_stop_signals(stop)
    try:
        with contextlib.ExitStack() as cleanup:
            return _start_and_supervise(settings, stop, cleanup)
    except Exception:
        logger.exception("Clean-Tracks failed")
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main() -> None:
    """Read the settings from the environment, run, and exit with run's status."""
    configure_logging()
    # pgserver logs every command it runs at INFO.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    sys.exit(run(LauncherSettings()))


def services_to_start(
    settings: LauncherSettings, database_url: str, nats_url: str
) -> list[Service]:
    """The services in start order (each waits for the ones before it to be ready).

    Args:
        settings: Ports and hosts to give the services.
        database_url: The Postgres in use.
        nats_url: The NATS in use.

    Returns:
        One Service per child process.
    """
    catalog = f"127.0.0.1:{settings.catalog_port}"
    transcriber = f"127.0.0.1:{settings.transcriber_port}"
    gateway = f"http://{_local_host(settings.gateway_host, '127.0.0.1')}:{settings.gateway_port}"
    return [
        Service(
            "catalog",
            "services.catalog.server",
            {
                "DATABASE_URL": database_url,
                "CATALOG_HOST": "127.0.0.1",
                "CATALOG_PORT": str(settings.catalog_port),
                "NATS_URL": nats_url,
            },
            functools.partial(_grpc_serving, catalog),
        ),
        Service(
            "transcriber",
            "services.transcriber.server",
            {
                "TRANSCRIBER_HOST": "127.0.0.1",
                "TRANSCRIBER_PORT": str(settings.transcriber_port),
            },
            functools.partial(_grpc_serving, transcriber),
        ),
        Service(
            "censor",
            "services.censor.server",
            {
                "CENSOR_HOST": "127.0.0.1",
                "CENSOR_PORT": str(settings.censor_port),
                "NATS_URL": nats_url,
                "CATALOG_ADDRESS": catalog,
                "TRANSCRIBER_ADDRESS": transcriber,
            },
            functools.partial(_grpc_serving, f"127.0.0.1:{settings.censor_port}"),
        ),
        Service(
            "gateway",
            "services.gateway.server",
            {
                "GATEWAY_HOST": settings.gateway_host,
                "GATEWAY_PORT": str(settings.gateway_port),
                "CATALOG_ADDRESS": catalog,
                "NATS_URL": nats_url,
            },
            functools.partial(_http_ok, f"{gateway}/api/health"),
        ),
    ]


class _Children:
    """The started child processes, stopped in reverse start order."""

    def __init__(self, stop_timeout: float) -> None:
        self._stop_timeout = stop_timeout
        self._started: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._watched: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, service: Service) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", service.module],
            env={**os.environ, **service.env},
            stdin=subprocess.DEVNULL,
            preexec_fn=pdeathsig_preexec(),
            # Its own session: a terminal's Ctrl-C reaches only the launcher, which then
            # stops the children one by one, the gateway before what it depends on.
            start_new_session=True,
        )
        logger.info("Started %s (pid %s)", service.name, process.pid)
        self._started.append((service.name, process))
        self.watch(service.name, process)
        return process

    def watch(self, name: str, process: subprocess.Popen[bytes]) -> None:
        """Count ``process`` among those whose exit stops everything (not stopped here)."""
        self._watched.append((name, process))

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self._watched:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self) -> None:
        for name, process in reversed(self._started):
            if process.poll() is None:
                logger.info("Stopping %s (pid %s)", name, process.pid)
                process.terminate()
                try:
                    process.wait(self._stop_timeout)
                except subprocess.TimeoutExpired:
                    logger.warning(
                        "%s did not stop within %.0f s; killing it", name, self._stop_timeout
                    )
            # SIGKILL whatever is left in the child's session: itself if it hung, and any
            # process it started and left behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _start_and_supervise(
    settings: LauncherSettings, stop: threading.Event, cleanup: contextlib.ExitStack
) -> int:
    # The exit stack unwinds in reverse: the services stop first, then NATS, then Postgres.
    children = _Children(settings.stop_timeout_seconds)
    database_url = settings.database_url
    if database_url is None:
        postgres = start_postgres(settings.data_dir / "postgres")
        cleanup.callback(postgres.stop)
        database_url = postgres.url
    nats_url = settings.nats_url
    if nats_url is None:
        nats_server = start_nats(settings.data_dir / "nats", settings.nats_port)
        cleanup.callback(nats_server.stop)
        children.watch("nats-server", nats_server.process)
        nats_url = nats_server.url
    cleanup.callback(children.stop_all)

    for service in services_to_start(settings, database_url, nats_url):
        if stop.is_set():
            return 0
        process = children.start(service)
        if not _wait_until_ready(service, process, stop, settings.start_timeout_seconds):
            return 0 if stop.is_set() else 1

    base = f"http://{_local_host(settings.gateway_host, 'localhost')}:{settings.gateway_port}"
    api_key = _local_api_key(settings.data_dir / "api-key", f"127.0.0.1:{settings.catalog_port}")
    print(
        f"\nClean-Tracks is running at {base}\n"
        f"  API docs:  {base}/docs\n"
        f"  Noise removal API: {base}/v1\n"
        f"  API key:   {api_key} (header x-api-key; kept in {settings.data_dir}/api-key)\n"
        f"  Postgres:  {_redact(database_url)}\n"
        f"  NATS:      {_redact(nats_url)}\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )

    while not stop.wait(_POLL_SECONDS):
        exited = children.first_exited()
        if exited is not None:
            logger.error("%s exited unexpectedly with code %s; stopping everything", *exited)
            return 1
    return 0


def _local_api_key(path: Path, catalog: str) -> str:
    """The noise-removal API key of this installation: made once, kept in the data folder."""
    if path.exists():
        key = path.read_text().strip()
        if key and apikeys.verify_key(catalog, key):
            return key
    key = apikeys.create_key(catalog, "make run")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def _wait_until_ready(
    service: Service, process: subprocess.Popen[bytes], stop: threading.Event, timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        code = process.poll()
        if code is not None:
            logger.error("%s exited with code %s while starting", service.name, code)
            return False
        if service.ready():
            logger.info("%s is ready", service.name)
            return True
        if time.monotonic() > deadline:
            logger.error("%s was not ready within %.0f s", service.name, timeout)
            return False
        stop.wait(_POLL_SECONDS)
    return False


def _handle_stop_signals(stop: threading.Event) -> dict[signal.Signals, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            logger.info("%s received; stopping", signal.Signals(signum).name)
        stop.set()

    return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def _grpc_serving(address: str) -> bool:
    request = health_pb2.HealthCheckRequest(service="")
    with grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)]) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(request, timeout=1)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _http_ok(url: str) -> bool:
    try:
        with _HTTP.open(url, timeout=1) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def _local_host(host: str, wildcard: str) -> str:
    """The host to reach a server bound to ``host`` from this machine."""
    if host in _WILDCARD_HOSTS:
        return wildcard
    return f"[{host}]" if ":" in host else host


def _redact(url: str) -> str:
    """Hide passwords; NATS URLs may list several servers separated by commas."""
    redacted = []
    for one in url.split(","):
        parts = urlsplit(one)
        if parts.password is not None:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            parts = parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{hostport}")
        redacted.append(urlunsplit(parts))
    return ",".join(redacted)


if __name__ == "__main__":
    main()
