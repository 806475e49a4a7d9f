"""The transcriber's gRPC adapter: gathers streamed PCM, runs the core in a thread, streams back."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import cast

import grpc
import numpy as np

from cleantracks_proto import transcriber_pb2 as pb
from cleantracks_proto import transcriber_pb2_grpc
from services.common.errors import InvalidArgument
from services.transcriber.core import SAMPLE_RATE, Event, Info, Progress, Transcriber, WordResult

__all__ = ["TranscriberServicer"]

logger = logging.getLogger(__name__)

_BYTES_PER_SAMPLE = 4


@dataclass(frozen=True)
class _Failure:
    error: BaseException


_DONE = object()


def _to_proto(event: Event) -> pb.TranscribeResponse:
    if isinstance(event, WordResult):
        return pb.TranscribeResponse(
            word=pb.Word(
                text=event.text, start=event.start, end=event.end, probability=event.probability
            )
        )
    if isinstance(event, Progress):
        return pb.TranscribeResponse(
            progress=pb.Progress(percent=event.percent, processed_seconds=event.processed_seconds)
        )
    return pb.TranscribeResponse(
        info=pb.Info(
            language=event.language,
            language_probability=event.language_probability,
            model=event.model,
            device=event.device,
            compute_type=event.compute_type,
        )
    )


async def _iterate_in_thread(make: Callable[[], Iterator[Event]]) -> AsyncIterator[Event]:
    """Runs a blocking iterator in its own thread and yields its items as they come.

    When the consumer stops early (the call was cancelled), the thread stops after
    the item it is producing, so a dropped client does not keep the model busy.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def put(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            stop.set()

    def work() -> None:
        try:
            events = make()
            try:
                for event in events:
                    if stop.is_set():
                        break
                    put(event)
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller to raise
            put(_Failure(exc))
        finally:
            put(_DONE)

    threading.Thread(target=work, name="transcribe", daemon=False).start()
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield cast(Event, item)
    finally:
        stop.set()


class TranscriberServicer(transcriber_pb2_grpc.TranscriberServicer):
    """Transcribe: config and PCM in, Info, Word and Progress messages out as they are decoded."""

    def __init__(
        self,
        transcriber: Transcriber,
        *,
        default_model: str,
        default_device: str,
        max_seconds: float,
    ) -> None:
        """Args:
        transcriber: The core that runs Whisper.
        default_model: Used when a request's config names no model.
        default_device: Used when a request's config names no device.
        max_seconds: The longest audio one request may send.
        """
        self._transcriber = transcriber
        self._default_model = default_model
        self._default_device = default_device
        self._max_seconds = max_seconds

    async def _receive(
        self, request_iterator: AsyncIterator[pb.TranscribeRequest]
    ) -> tuple[pb.TranscribeConfig, np.ndarray]:
        max_bytes = int(self._max_seconds * SAMPLE_RATE) * _BYTES_PER_SAMPLE
        config: pb.TranscribeConfig | None = None
        pcm = bytearray()
        over = False
        async for request in request_iterator:
            if config is None:
                config = request.config
            if over or len(pcm) + len(request.pcm_f32le) > max_bytes:
                # Read the rest and drop it, then fail: ending the call while the client
                # still writes reaches a grpc.aio client as INTERNAL, not this error
                # (grpc/grpc#36066).
                over = True
                continue
            pcm += request.pcm_f32le
        if over:
            raise InvalidArgument(
                f"audio is longer than the limit of {self._max_seconds:g} seconds; "
                "send it in parts with offset_seconds"
            )
        if config is None:
            raise InvalidArgument("the request stream was empty: send a config first")
        if len(pcm) % _BYTES_PER_SAMPLE:
            raise InvalidArgument(
                f"pcm_f32le must hold whole float32 samples: {len(pcm)} bytes is not a "
                f"multiple of {_BYTES_PER_SAMPLE}"
            )
        return config, np.frombuffer(pcm, dtype="<f4")

    async def Transcribe(
        self,
        request_iterator: AsyncIterator[pb.TranscribeRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[pb.TranscribeResponse]:
        """Reads all PCM, then streams Info, each word and Progress as Whisper decodes.

        Args:
            request_iterator: The first message's config (empty fields: the service's
                defaults), then little-endian float32 16 kHz PCM in any chunking.
            context: The call; errors are raised as domain errors for the interceptor.

        Returns:
            The responses, ending with a Progress.
        """
        config, audio = await self._receive(request_iterator)
        model = config.model or self._default_model
        device = config.device or self._default_device
        seconds = audio.shape[0] / SAMPLE_RATE
        logger.info("transcribing %.1f s with model %s on %s", seconds, model, device)
        started = time.perf_counter()

        def run() -> Iterator[Event]:
            return self._transcriber.transcribe(
                audio,
                model=model,
                device=device,
                language=config.language or None,
                hotwords=list(config.hotwords),
                duration=config.duration_seconds or None,
                offset=config.offset_seconds,
            )

        words = 0
        async for event in _iterate_in_thread(run):
            if isinstance(event, WordResult):
                words += 1
            elif isinstance(event, Info):
                logger.info(
                    "language %s (%.2f) on %s/%s",
                    event.language,
                    event.language_probability,
                    event.device,
                    event.compute_type,
                )
            yield _to_proto(event)
        elapsed = time.perf_counter() - started
        logger.info(
            "transcribed %.1f s into %s words in %.1f s (real-time factor %.2f)",
            seconds,
            words,
            elapsed,
            elapsed / seconds if seconds else 0.0,
        )
