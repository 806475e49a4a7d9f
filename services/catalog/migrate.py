"""`python -m services.catalog.migrate`: upgrades the catalog database to the newest migration."""

from __future__ import annotations

import logging

from services.catalog.db import run_migrations
from services.catalog.settings import CatalogSettings
from services.common.logging_setup import configure_logging

__all__ = ["main"]

logger = logging.getLogger(__name__)


def main() -> None:
    """Reads DATABASE_URL like the catalog does, migrates, and exits (the Kubernetes Job)."""
    settings = CatalogSettings()  # type: ignore[call-arg]  # read from the environment
    configure_logging(json_lines=settings.log_json)
    run_migrations(settings.database_url)
    logger.info("catalog database is at the newest migration")


if __name__ == "__main__":
    main()
