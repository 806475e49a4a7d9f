"""Embedded Postgres and NATS start, keep their data, stop, and leave no process behind."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import psutil
import psycopg
import pytest

from services.common.embedded import (
    EmbeddedPostgres,
    create_database,
    drop_database,
    free_port,
    start_nats,
    start_postgres,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = start_postgres(tmp_path_factory.mktemp("embedded") / "postgres")
    yield server
    server.stop()


def test_postgres_data_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "postgres"
    first = start_postgres(data_dir)
    try:
        assert first.url.startswith("postgresql+psycopg://postgres@/postgres?host=")
        with psycopg.connect(_libpq(first.url), autocommit=True) as conn:
            conn.execute("CREATE TABLE songs (title text)")
            conn.execute("INSERT INTO songs VALUES ('kept')")
        pid = first._server.get_pid()
    finally:
        first.stop()
    assert _gone(pid)

    second = start_postgres(data_dir)
    try:
        with psycopg.connect(_libpq(second.url)) as conn:
            rows = conn.execute("SELECT title FROM songs").fetchall()
    finally:
        second.stop()
    assert rows == [("kept",)]


def test_create_database_gives_a_fresh_database(postgres: EmbeddedPostgres) -> None:
    url = create_database(postgres.url, "ct_fresh")
    assert url.startswith("postgresql+psycopg://")
    conn = psycopg.connect(_libpq(url), autocommit=True)
    try:
        assert conn.execute("SELECT current_database()").fetchone() == ("ct_fresh",)
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)
        # Dropping works even while a client still holds a connection to the database.
        drop_database(postgres.url, "ct_fresh")
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()
        drop_database(postgres.url, "ct_fresh")
    with psycopg.connect(_libpq(postgres.url)) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'ct_fresh'").fetchall()
    assert found == []


def test_create_database_accepts_a_plain_postgresql_url(postgres: EmbeddedPostgres) -> None:
    url = create_database(_libpq(postgres.url), "ct_plain")
    try:
        with psycopg.connect(_libpq(url)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("ct_plain",)
    finally:
        drop_database(_libpq(postgres.url), "ct_plain")


def test_create_database_refuses_an_existing_name(postgres: EmbeddedPostgres) -> None:
    create_database(postgres.url, "ct_twice")
    try:
        with pytest.raises(psycopg.errors.DuplicateDatabase):
            create_database(postgres.url, "ct_twice")
    finally:
        drop_database(postgres.url, "ct_twice")


async def test_nats_jetstream_round_trip_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    server = start_nats(tmp_path / "nats", port=port)
    try:
        assert server.port == port
        assert server.url == f"nats://127.0.0.1:{port}"
        client = await nats.connect(server.url)
        js = client.jetstream()
        await js.add_stream(name="EMBEDDED", subjects=["embedded.>"])
        ack = await js.publish("embedded.hello", b"hello")
        assert (await js.get_msg("EMBEDDED", ack.seq)).data == b"hello"
        await client.close()
    finally:
        server.stop()
    assert server.process.poll() is not None

    again = start_nats(tmp_path / "nats")
    try:
        client = await nats.connect(again.url)
        message = await client.jetstream().get_msg("EMBEDDED", ack.seq)
        await client.close()
    finally:
        again.stop()
    assert message.data == b"hello"


def test_start_nats_takes_another_port_when_the_port_is_in_use(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        server = start_nats(tmp_path / "nats", port=busy)
        try:
            assert server.port != busy
            assert server.process.poll() is None
        finally:
            server.stop()
    assert server.process.returncode is not None


def test_start_nats_reports_a_server_that_cannot_start(tmp_path: Path) -> None:
    # A file where the store folder's "jetstream" subfolder must go makes nats-server exit.
    (tmp_path / "nats").mkdir()
    (tmp_path / "nats" / "jetstream").write_text("not a folder")
    with pytest.raises(RuntimeError, match="nats-server"):
        start_nats(tmp_path / "nats")


_SERVE_UNTIL_KILLED = """
import json, sys, time
from pathlib import Path
from services.common.embedded import start_nats, start_postgres
data = Path(sys.argv[1])
postgres = start_postgres(data / "postgres")
nats_server = start_nats(data / "nats")
print(json.dumps([postgres._server.get_pid(), nats_server.process.pid]), flush=True)
time.sleep(600)
"""


def test_a_killed_parent_leaves_no_server_behind(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _SERVE_UNTIL_KILLED, str(tmp_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 15
    while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in pids if not _gone(pid)] == []

    # The dead parent's pgserver handle must not keep a later stop() from stopping Postgres.
    restarted = start_postgres(tmp_path / "postgres")
    pid = restarted._server.get_pid()
    restarted.stop()
    assert _gone(pid)
