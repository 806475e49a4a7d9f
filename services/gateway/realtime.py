"""Socket.IO at /socket.io/: job rooms fed by the NATS progress events of every worker."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats.aio.client
import socketio
from nats.aio.msg import Msg

from cleantracks_proto import catalog_pb2 as pb
from services.common.errors import CleanTracksError
from services.common.jobqueue import PROGRESS_PREFIX, JobEvent, completed_result
from services.gateway.catalog_client import CatalogClient
from services.gateway.ratelimit import SOCKET, RateLimits, client_address

__all__ = ["Realtime"]

logger = logging.getLogger(__name__)


class Realtime:
    """Joins clients to job rooms and relays job events to them, whichever gateway they use."""

    def __init__(
        self,
        cors_origins: list[str],
        catalog: Callable[[], CatalogClient | None] = lambda: None,
        limits: RateLimits | None = None,
    ) -> None:
        """
        Args:
            cors_origins: the origins allowed to connect ("*" for any).
            catalog: returns the catalog client once the app has one; it tells a client
                that joins a job already finished how it ended.
            limits: counts each client address's messages (its connects and events);
                None for no limit.
        """
        origins: Any = "*" if "*" in cors_origins else cors_origins
        self.sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=origins)
        self._catalog = catalog
        self._subscription: Any = None
        self._limits = limits
        self._clients: dict[str, str] = {}  # sid -> client address, while connected
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("join_job", self._limited(self._join))
        self.sio.on("leave_job", self._limited(self._leave))
        self.sio.on("ping", self._limited(self._ping))

    async def _connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        client = client_address(environ.get("asgi.scope", {}))
        if self._limits is not None:
            verdict = await self._limits.hit(SOCKET, client)
            if not verdict.allowed:
                raise socketio.exceptions.ConnectionRefusedError(verdict.message)
        self._clients[sid] = client
        await self.sio.emit("connected", {"message": "Connected to Clean-Tracks server"}, to=sid)

    async def _disconnect(self, sid: str, *reason: Any) -> None:
        self._clients.pop(sid, None)

    def _limited(
        self, handler: Callable[..., Awaitable[dict[str, Any]]]
    ) -> Callable[..., Awaitable[dict[str, Any]]]:
        """The handler behind the message limit: over it, the ack is the error instead."""

        async def limited(sid: str, *args: Any) -> dict[str, Any]:
            if self._limits is not None:
                verdict = await self._limits.hit(SOCKET, self._clients.get(sid, "unknown"))
                if not verdict.allowed:
                    return {"error": verdict.message}
            return await handler(sid, *args)

        return limited

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
        await self._send_final_state(sid, job_id)
        return {"joined": job_id}

    async def _send_final_state(self, sid: str, job_id: str) -> None:
        """A client that joins after its job ended still hears how it ended."""
        catalog = self._catalog()
        if catalog is None:
            return
        try:
            job = await catalog.call("GetJob", pb.GetJobRequest(job_id=job_id))
        except CleanTracksError:
            return  # unknown job, or the catalog is away: live events still come
        if job.status == "completed":
            event = JobEvent(
                job_id=job_id,
                type="completed",
                result=completed_result(
                    job.output_filename,
                    job.words_detected,
                    job.words_censored,
                    job.processing_time_seconds,
                ),
            )
        elif job.status == "failed":
            event = JobEvent(job_id=job_id, type="failed", error=job.error_message)
        else:
            return
        await self.sio.emit(*self.to_socketio(event), to=sid)

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
