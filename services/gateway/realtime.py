"""Socket.IO at /socket.io/: job rooms fed by the NATS progress events of every worker."""

from __future__ import annotations

import logging
from typing import Any

import nats.aio.client
import socketio
from nats.aio.msg import Msg

from services.common.jobqueue import PROGRESS_PREFIX, JobEvent

__all__ = ["Realtime"]

logger = logging.getLogger(__name__)


class Realtime:
    """Joins clients to job rooms and relays job events to them, whichever gateway they use."""

    def __init__(self, cors_origins: list[str]) -> None:
        origins: Any = "*" if "*" in cors_origins else cors_origins
        self.sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=origins)
        self._subscription: Any = None
        self.sio.on("connect", self._connect)
        self.sio.on("join_job", self._join)
        self.sio.on("leave_job", self._leave)
        self.sio.on("ping", self._ping)

    async def _connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        await self.sio.emit("connected", {"message": "Connected to Clean-Tracks server"}, to=sid)

    @staticmethod
    def _job_id(data: Any) -> str | None:
        if isinstance(data, dict) and isinstance(data.get("job_id"), str) and data["job_id"]:
            return str(data["job_id"])
        return None

    async def _join(self, sid: str, data: Any) -> dict[str, Any]:
        job_id = self._job_id(data)
        if job_id is None:
            return {"error": "job_id is required"}
        await self.sio.enter_room(sid, job_id)
        return {"joined": job_id}

    async def _leave(self, sid: str, data: Any) -> dict[str, Any]:
        job_id = self._job_id(data)
        if job_id is None:
            return {"error": "job_id is required"}
        await self.sio.leave_room(sid, job_id)
        return {"left": job_id}

    async def _ping(self, sid: str, data: Any = None) -> dict[str, Any]:
        await self.sio.emit("pong", {"message": "pong"}, to=sid)
        return {"message": "pong"}

    async def subscribe(self, nc: nats.aio.client.Client) -> None:
        """Relays every job event published on NATS to the job's room."""
        self._subscription = await nc.subscribe(f"{PROGRESS_PREFIX}.*", cb=self._relay)

    async def _relay(self, msg: Msg) -> None:
        try:
            event = JobEvent.from_json(msg.data)
        except (ValueError, TypeError):
            logger.warning("ignoring a malformed event on %s", msg.subject)
            return
        await self.sio.emit(*self.to_socketio(event), room=event.job_id)

    @staticmethod
    def to_socketio(event: JobEvent) -> tuple[str, dict[str, Any]]:
        """Returns the contract's event name and payload for a job event."""
        if event.type == "completed":
            return "job_completed", {
                "job_id": event.job_id,
                "result": {**event.result, "timestamp": event.timestamp},
            }
        if event.type == "failed":
            return "job_failed", {"job_id": event.job_id, "error": event.error}
        return "job_progress", {
            "job_id": event.job_id,
            "progress": {
                "stage": event.stage,
                "percent": round(event.percent, 1),
                "message": event.message,
                "timestamp": event.timestamp,
            },
        }
