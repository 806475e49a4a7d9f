"""Embedded Postgres (pgserver) and NATS with JetStream for `make run` and the tests."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

import nats
import psutil
import psycopg
from psycopg import sql

__all__ = [
    "EmbeddedNats",
    "EmbeddedPostgres",
    "create_database",
    "drop_database",
    "free_port",
    "pdeathsig_preexec",
    "start_nats",
    "start_postgres",
]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_NATS_START_TIMEOUT = 15.0
_NATS_STOP_TIMEOUT = 10.0
_NATS_START_ATTEMPTS = 3
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")

# Runs beside Postgres: pg_ctl daemonizes the postmaster, so no preexec_fn reaches it.
# The watchdog holds the read end of a pipe whose write end only its parent has; EOF
# means the parent is gone (even by SIGKILL), and a fast shutdown (SIGINT) follows
# unless postmaster.pid shows that Postgres stopped or was replaced meanwhile.
_POSTGRES_WATCHDOG = """
import os, signal, sys
pid, pid_file = int(sys.argv[1]), sys.argv[2]
sys.stdin.buffer.read()
try:
    with open(pid_file) as f:
        running = f.readline().strip() == str(pid)
except OSError:
    running = False
if running:
    os.kill(pid, signal.SIGINT)
"""


@dataclass
class EmbeddedPostgres:
    """A Postgres 16 server from pgserver, reachable on a unix socket.

    Attributes:
        url: SQLAlchemy URL, ``postgresql+psycopg://postgres@/postgres?host=<socket dir>``.
        data_dir: The PGDATA folder; its data survives stop() and a later start.
    """

    url: str
    data_dir: Path
    _server: Any = field(repr=False)
    _watchdog: subprocess.Popen[bytes] = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server (pg_ctl stop, fast mode) and its watchdog; safe to call twice.

        Like pgserver, leaves the server running while another live process holds a
        handle on the same data_dir. Waits for pgserver's machine-wide lock, so a start
        elsewhere on the machine (initdb takes seconds) can delay it.
        """
        if self._stopped:
            return
        self._stopped = True
        # The watchdog goes first, so that closing its pipe cannot race pg_ctl stop.
        self._watchdog.kill()
        self._watchdog.wait()
        if self._watchdog.stdin is not None:
            self._watchdog.stdin.close()
        self._server.cleanup()
        logger.info("Embedded Postgres in %s stopped", self.data_dir)


@dataclass
class EmbeddedNats:
    """A nats-server child process with JetStream enabled.

    Attributes:
        url: ``nats://127.0.0.1:<port>``.
        process: The nats-server process.
        port: The client port it listens on.
        log_path: Where its stderr goes.
    """

    url: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def stop(self) -> None:
        """SIGTERM the server, wait up to 10 s, then SIGKILL it; safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(_NATS_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                logger.warning("nats-server did not stop in %.0f s; killing it", _NATS_STOP_TIMEOUT)
                self.process.kill()
                self.process.wait()
            logger.info("Embedded NATS on port %s stopped", self.port)


def pdeathsig_preexec() -> Callable[[], None] | None:
    """Build a ``preexec_fn`` that makes a child receive SIGTERM when its parent dies.

    Linux only (prctl PR_SET_PDEATHSIG); elsewhere returns None. The signal follows the
    death of the *thread* that started the child, so start long-lived children from a
    thread that lives as long as they should (the main thread, normally).

    Returns:
        A callable for ``subprocess.Popen(preexec_fn=...)``, or None off Linux.
    """
    if not sys.platform.startswith("linux"):
        return None
    # Resolved here, in the parent: loading libraries between fork and exec is unsafe.
    prctl = _libc().prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The parent may have died before prctl took effect; then nobody will signal us.
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def free_port() -> int:
    """Pick a TCP port on 127.0.0.1 that is free right now.

    Returns:
        The port number (another process may still take it before you bind it).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (initializing on first use) a Postgres server whose data lives in data_dir.

    Run as root, pgserver runs Postgres as the system user ``pgserver`` (created with
    useradd if missing) and widens the permissions of data_dir's parent folders.

    Args:
        data_dir: The PGDATA folder; created with its parents if missing.

    Returns:
        The running server; call stop() when done (it also stops at interpreter exit).
    """
    pgserver = _import_pgserver()
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _forget_dead_handles(pgserver, data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    url = _sqlalchemy_url(server.get_uri())
    pid_file = str(data_dir / "postmaster.pid")
    watchdog = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _POSTGRES_WATCHDOG, str(server.get_pid()), pid_file],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    logger.info("Embedded Postgres ready at %s in %.1f s", url, time.monotonic() - started)
    return EmbeddedPostgres(url=url, data_dir=data_dir, _server=server, _watchdog=watchdog)


def start_nats(store_dir: Path, port: int | None = None) -> EmbeddedNats:
    """Start nats-server with JetStream on 127.0.0.1 and wait until JetStream answers.

    Args:
        store_dir: JetStream storage folder (created if missing); the server's log goes to
            ``nats-server.log`` in it.
        port: Client port to use; None, or a port already in use, means a free one.

    Returns:
        The running server; call stop() when done.

    Raises:
        RuntimeError: nats-server is missing, exited, or JetStream did not answer within
            about 15 s; the message holds the tail of its log.
    """
    binary = _nats_server_binary()
    store_dir = Path(store_dir).expanduser().resolve()
    store_dir.mkdir(parents=True, exist_ok=True)
    log_path = store_dir / "nats-server.log"
    if port is None or not _port_is_free(port):
        if port is not None:
            logger.info("Port %s is in use; embedded NATS takes a free port instead", port)
        port = free_port()
    attempt = 1
    while True:
        started = time.monotonic()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [binary, "-js", "-sd", str(store_dir), "-a", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=pdeathsig_preexec(),
                start_new_session=True,
            )
        nats_server = EmbeddedNats(
            url=f"nats://127.0.0.1:{port}", process=process, port=port, log_path=log_path
        )
        error = _wait_for_jetstream(nats_server, _NATS_START_TIMEOUT)
        if error is None:
            logger.info(
                "Embedded NATS ready at %s in %.1f s", nats_server.url, time.monotonic() - started
            )
            return nats_server
        nats_server.stop()
        tail = _tail(log_path)
        # Another process can take the port between the check and the bind: retry elsewhere.
        if "address already in use" not in tail or attempt == _NATS_START_ATTEMPTS:
            raise RuntimeError(f"nats-server on port {port} {error}; log tail:\n{tail}")
        logger.info("Port %s was taken meanwhile; retrying on another", port)
        attempt += 1
        port = free_port()


def create_database(server_url: str, name: str) -> str:
    """Create an empty database on a Postgres server.

    Args:
        server_url: Any database on the server, ``postgresql://`` or ``postgresql+psycopg://``.
        name: Name of the new database; it must not exist yet.

    Returns:
        The new database's SQLAlchemy URL (``postgresql+psycopg://...``).
    """
    with psycopg.connect(_libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _sqlalchemy_url(server_url, database=name)


def drop_database(server_url: str, name: str) -> None:
    """Drop a database if it exists, closing any connections still open to it.

    Args:
        server_url: Another database on the same server (any accepted URL form).
        name: The database to drop.
    """
    with psycopg.connect(_libpq_url(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _import_pgserver() -> ModuleType:
    # pgserver resolves its lock folder at import; without XDG_RUNTIME_DIR platformdirs
    # warns and falls back to /tmp/runtime-<uid>, which is fine for us.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    return pgserver


def _forget_dead_handles(pgserver: ModuleType, data_dir: Path) -> None:
    """Drop pids of dead processes from pgserver's handle list for data_dir.

    pgserver only stops the server when the last live handle is released, counting the
    pids in PGDATA/.handle_pids.json; a killed process never removes its pid, after which
    no later stop() would stop the server at all.
    """
    handles = data_dir / ".handle_pids.json"
    with pgserver.PostgresServer._lock:
        if not handles.exists():
            return
        pids = json.loads(handles.read_text())
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            logger.info("Forgetting handles of dead processes on %s: %s", data_dir, pids)
            handles.write_text(json.dumps(alive))


def _split_postgres_url(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in _POSTGRES_SCHEMES:
        raise ValueError(f"not a Postgres URL: {parts.scheme}://...")
    # pgserver writes "postgres:@" (empty password); drop the bare colon.
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and userinfo.endswith(":"):
        parts = parts._replace(netloc=f"{userinfo[:-1]}@{hostport}")
    return parts


def _sqlalchemy_url(url: str, database: str | None = None) -> str:
    parts = _split_postgres_url(url)._replace(scheme="postgresql+psycopg")
    if database is not None:
        parts = parts._replace(path="/" + quote(database, safe=""))
    return urlunsplit(parts)


def _libpq_url(url: str) -> str:
    return urlunsplit(_split_postgres_url(url)._replace(scheme="postgresql"))


def _nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found next to the interpreter or on PATH")
    return found


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option nats-server binds with, so a TIME_WAIT leftover does not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _accepts_tcp(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def _probe_jetstream(url: str) -> None:
    async def ignore(_: Exception) -> None:
        return None

    client = await nats.connect(
        url, connect_timeout=1, allow_reconnect=False, max_reconnect_attempts=0, error_cb=ignore
    )
    try:
        await client.jetstream(timeout=1).account_info()
    finally:
        await client.close()


def _jetstream_answers(url: str) -> bool:
    # Its own event loop in its own thread: the caller may be inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, _probe_jetstream(url)).result()
        except Exception:  # any failure means "not ready yet"
            return False
    return True


def _wait_for_jetstream(server: EmbeddedNats, timeout: float) -> str | None:
    """Poll until JetStream answers; return None then, or what went wrong."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            return f"exited with code {code}"
        if _accepts_tcp(server.port) and _jetstream_answers(server.url):
            return None
        time.sleep(0.1)
    return f"did not answer JetStream requests within {timeout:.0f} s"


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_bytes()[-limit:].decode(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
