"""Noise removal: the engine interface, the parallel block engine and DeepFilterNet3.

Typical use, one engine per worker process::

    engine = BlockEngine(DeepFilterNet3(), workers=4)
    clean = engine.denoise(samples, sample_rate, amount=80)
"""

from services.censor.denoise.deepfilternet import DeepFilterNet3
from services.censor.denoise.engine import (
    MAX_AMOUNT,
    MIN_AMOUNT,
    BlockEngine,
    DenoiseEngine,
    FrameModel,
    FrameState,
    attenuation_limit_db,
    check_amount,
)

__all__ = [
    "MAX_AMOUNT",
    "MIN_AMOUNT",
    "BlockEngine",
    "DeepFilterNet3",
    "DenoiseEngine",
    "FrameModel",
    "FrameState",
    "attenuation_limit_db",
    "check_amount",
]
