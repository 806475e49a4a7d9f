"""The transcriber over gRPC on port 0: streamed PCM in, Info, words and progress out."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cleantracks_proto import transcriber_pb2 as pb
from cleantracks_proto import transcriber_pb2_grpc
from services.transcriber.core import SAMPLE_RATE
from services.transcriber.server import SERVICE_NAME, TranscriberServer

FOX = "The quick brown fox jumps over the lazy dog."


def normalize(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def requests(
    pcm: bytes, config: pb.TranscribeConfig, chunk_bytes: int = SAMPLE_RATE // 2 * 4
) -> Iterator[pb.TranscribeRequest]:
    """The config in the first message, then PCM in chunks (0.5 s by default)."""
    yield pb.TranscribeRequest(config=config)
    for start in range(0, len(pcm), chunk_bytes):
        yield pb.TranscribeRequest(pcm_f32le=pcm[start : start + chunk_bytes])


async def transcribe(
    channel: grpc.aio.Channel, pcm: bytes, chunk_bytes: int = SAMPLE_RATE // 2 * 4, **config: object
) -> list[pb.TranscribeResponse]:
    stub = transcriber_pb2_grpc.TranscriberStub(channel)
    call = stub.Transcribe(
        requests(pcm, pb.TranscribeConfig(**config), chunk_bytes)  # type: ignore[arg-type]
    )
    return [response async for response in call]


async def test_streamed_pcm_comes_back_as_info_progress_and_words(
    channel: grpc.aio.Channel, fox: np.ndarray
) -> None:
    seconds = fox.shape[0] / SAMPLE_RATE
    responses = await transcribe(
        channel, fox.astype("<f4").tobytes(), language="en", duration_seconds=seconds
    )
    kinds = [r.WhichOneof("item") for r in responses]
    assert kinds[0] == "info" and kinds[-1] == "progress"
    info = responses[0].info
    assert (info.language, info.model) == ("en", "base")
    assert info.device in ("cpu", "cuda") and info.compute_type
    percents = [r.progress.percent for r in responses if r.HasField("progress")]
    assert percents == sorted(percents) and percents[-1] == 100.0
    words = [r.word for r in responses if r.HasField("word")]
    heard = [normalize(w.text) for w in words]
    assert sum(1 for w in FOX.split() if normalize(w) in heard) >= 7, heard
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w.start < w.end <= seconds + 0.05 for w in words)
    assert all(0 <= w.probability <= 1 for w in words)


async def test_pcm_that_is_not_whole_floats_is_invalid(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await transcribe(channel, b"\x00" * 4002)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "multiple of 4" in (caught.value.details() or "")


async def test_an_uninstalled_model_is_not_found_by_name(channel: grpc.aio.Channel) -> None:
    pcm = np.zeros(SAMPLE_RATE, dtype="<f4").tobytes()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await transcribe(channel, pcm, model="large-v3")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "large-v3" in (caught.value.details() or "")


async def test_audio_over_the_limit_is_invalid(
    make_server: Callable[..., Awaitable[TranscriberServer]],
) -> None:
    server = await make_server(max_seconds=1.0)
    # Many small chunks still to send after the limit: the client must get the error,
    # not an INTERNAL from a write that lost the race with the end of the call.
    pcm = np.zeros(SAMPLE_RATE * 10, dtype="<f4").tobytes()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        for _ in range(5):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await transcribe(channel, pcm, chunk_bytes=SAMPLE_RATE // 50 * 4)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "limit of 1 seconds" in (caught.value.details() or "")


async def test_silence_gives_info_and_progress_without_words(channel: grpc.aio.Channel) -> None:
    responses = await transcribe(channel, b"", language="en")
    assert [r.WhichOneof("item") for r in responses] == ["info", "progress"]
    assert responses[-1].progress.percent == 100.0


@pytest.mark.parametrize("service", ["", SERVICE_NAME])
async def test_health_is_serving(channel: grpc.aio.Channel, service: str) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    assert response.status == health_pb2.HealthCheckResponse.SERVING
