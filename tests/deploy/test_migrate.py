"""`python -m services.catalog.migrate`: the command of the Kubernetes migrations Job."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from services.common.embedded import create_database, drop_database, free_port

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "services" / "catalog" / "migrations"


def _migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": database_url,
        "CATALOG_ENVIRONMENT": "development",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.catalog.migrate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_migrate_brings_a_fresh_database_to_the_newest_revision(pg_server_url: str) -> None:
    name = f"ct_migrate_{uuid.uuid4().hex[:12]}"
    url = create_database(pg_server_url, name)
    try:
        # The second run is the next deploy's Job: nothing left to do, and still success.
        for _ in range(2):
            result = _migrate(url)
            assert result.returncode == 0, result.stderr
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                lists = conn.execute(text("SELECT count(*) FROM word_lists")).scalar()
        finally:
            engine.dispose()
        assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert lists, "the seeded word list is missing"
    finally:
        drop_database(pg_server_url, name)


def test_migrate_fails_visibly_without_a_database() -> None:
    result = _migrate(f"postgresql://nobody:pw@127.0.0.1:{free_port()}/none")
    assert result.returncode != 0
    assert "connection" in result.stderr.lower()
