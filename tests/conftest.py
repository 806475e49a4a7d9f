"""Shared fixtures: real Postgres and NATS (embedded, or TEST_DATABASE_URL / TEST_NATS_URL),
a real catalog gRPC server on an ephemeral port, and the gateway app over it."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.catalog.db import run_migrations
from services.catalog.server import CatalogServer, create_server
from services.catalog.settings import CatalogSettings
from services.common.embedded import create_database, drop_database, start_nats, start_postgres
from services.gateway.catalog_client import CatalogClient
from services.gateway.main import create_app
from services.gateway.settings import GatewaySettings
from services.transcriber.core import ModelCache, Transcriber
from services.transcriber.models import resolve_model
from services.transcriber.settings import TranscriberSettings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Postgres server: TEST_DATABASE_URL's, or an embedded one for this session."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    # Outside pytest's own temp root: pytest resets that root to mode 0700 whenever another
    # session starts, and the embedded Postgres runs as an unprivileged user.
    root = Path(tempfile.mkdtemp(prefix="cleantracks-test-pg-"))
    server = start_postgres(root / "data")
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server with JetStream: TEST_NATS_URL's, or an embedded one for this session."""
    url = os.environ.get("TEST_NATS_URL")
    if url:
        yield url
        return
    server = start_nats(tmp_path_factory.mktemp("nats"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The installed models folder (`make install` assembles the bundled base there)."""
    return TranscriberSettings().models_dir


@pytest.fixture(scope="session")
def transcriber(models_dir: Path) -> Transcriber:
    """The one real Transcriber of the session, with Whisper base loaded once."""
    core = Transcriber(ModelCache(functools.partial(resolve_model, models_dir=models_dir)))
    core.preload(model="base", device="auto")
    return core


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Iterator[Callable[[], str]]:
    """Creates fresh, migrated databases on the test server; drops them at the end."""
    names: list[str] = []

    def make() -> str:
        name = f"ct_test_{uuid.uuid4().hex[:12]}"
        url = create_database(pg_server_url, name)
        names.append(name)
        run_migrations(url)
        return url

    yield make
    for name in names:
        drop_database(pg_server_url, name)


@dataclass
class Stack:
    """A catalog server and a gateway app over it, on one database."""

    database_url: str
    catalog: CatalogServer
    address: str
    client: CatalogClient
    http: httpx.AsyncClient


@pytest.fixture(scope="session")
async def make_stack(
    make_database: Callable[[], str],
) -> AsyncIterator[Callable[[], Awaitable[Stack]]]:
    """Starts a catalog on a fresh database and an in-process gateway over it."""
    stacks: list[Stack] = []

    async def make() -> Stack:
        url = await asyncio.to_thread(make_database)
        server = create_server(CatalogSettings(database_url=url, host="127.0.0.1", port=0))
        await server.start()
        address = f"127.0.0.1:{server.port}"
        client = CatalogClient.connect(address)
        app = create_app(GatewaySettings(catalog_address=address), catalog=client)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        stack = Stack(url, server, address, client, http)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        await stack.http.aclose()
        await stack.client.close()
        await stack.catalog.stop(0.5)


@pytest.fixture(scope="session")
async def stack(make_stack: Callable[[], Awaitable[Stack]]) -> Stack:
    """One shared stack; tests on it use unique names and do not change the default list."""
    return await make_stack()


@pytest.fixture
async def fresh_stack(make_stack: Callable[[], Awaitable[Stack]]) -> Stack:
    """A stack on its own database, for tests that change global state."""
    return await make_stack()


@pytest.fixture
async def api(stack: Stack) -> httpx.AsyncClient:
    return stack.http


def unique(prefix: str = "list") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
