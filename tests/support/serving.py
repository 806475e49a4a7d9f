"""The gateway under uvicorn on a real port, in the test's own event loop."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import uvicorn

__all__ = ["serve_gateway"]


async def serve_gateway(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Starts ``app`` on 127.0.0.1:``port``; stop it with ``server.should_exit = True`` and
    awaiting the task."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done():
            task.result()
        if time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start within 60 s")
        await asyncio.sleep(0.05)
    return server, task
