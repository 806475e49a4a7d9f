"""Runs the gateway under uvicorn: settings in, app built, served until SIGTERM/SIGINT."""

from __future__ import annotations

import logging

import uvicorn

from services.common.logging_setup import configure_logging
from services.gateway.main import create_asgi
from services.gateway.settings import GatewaySettings

__all__ = ["main"]

logger = logging.getLogger(__name__)


def main() -> None:
    config = GatewaySettings()
    configure_logging(json_lines=config.log_json)
    app = create_asgi(config)
    logger.info("gateway listening on %s:%s", config.host, config.port)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_config=None,
        forwarded_allow_ips=config.forwarded_allow_ips,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
