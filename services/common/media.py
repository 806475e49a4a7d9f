"""Media I/O with PyAV: probe and decode uploads, and re-encode rendered audio in their format."""

from __future__ import annotations

import base64
import itertools
import logging
import math
import os
import re
import struct
import uuid
from collections.abc import Generator, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np

from services.common.errors import InvalidArgument

__all__ = [
    "DEFAULT_BITRATE",
    "OUTPUT_FORMATS",
    "TRANSCRIBE_RATE",
    "DecodedAudio",
    "DecodedStream",
    "MediaInfo",
    "decode",
    "decode_stream",
    "encode",
    "encode_stream",
    "parse_bitrate",
    "probe",
    "to_mono_16k",
]

logger = logging.getLogger(__name__)

DEFAULT_BITRATE = 192_000
"""Bits per second for a lossy encode when the source's own rate does not apply."""

TRANSCRIBE_RATE = 16_000
"""The rate `to_mono_16k` resamples to, Whisper's input rate."""

# Tags that describe the old encode or the container's plumbing, not the work:
# copying them onto a new encode would be wrong (iTunSMPB holds the old gapless
# offsets, DURATION the old length).
_TECHNICAL_TAGS = frozenset(
    {
        "encoder",
        "major_brand",
        "minor_version",
        "compatible_brands",
        "handler_name",
        "vendor_id",
        "language",
        "duration",
        "itunsmpb",
        "itunnorm",
        "metadata_block_picture",
        "_statistics_tags",
        "_statistics_writing_app",
        "_statistics_writing_date_utc",
        "number_of_frames",
        "number_of_bytes",
        "bps",
    }
)
# Kept on the audio and video streams of a video container: they say which
# track is which, so a player still labels them.
_STREAM_TAGS = ("language", "handler_name", "title")

_PICTURE_TYPES = (
    "Other",
    "32x32 pixels 'file icon'",
    "Other file icon",
    "Cover (front)",
    "Cover (back)",
    "Leaflet page",
    "Media (e.g. label side of CD)",
    "Lead artist/lead performer/soloist",
    "Artist/performer",
    "Conductor",
    "Band/Orchestra",
    "Composer",
    "Lyricist/text writer",
    "Recording Location",
    "During recording",
    "During performance",
    "Movie/video screen capture",
    "A bright coloured fish",
    "Illustration",
    "Band/artist logotype",
    "Publisher/Studio logotype",
)
_PICTURE_MIME = {"png": "image/png", "mjpeg": "image/jpeg", "bmp": "image/bmp", "gif": "image/gif"}

# The AAC encoder's priming: decoders output this many extra samples first
# unless the container says to skip them (MP4 edit lists do, ADTS cannot).
_AAC_PRIMING = 1024
# At most this many decoded samples past an MP4's declared length are the
# encoder's end padding; more means the declaration is wrong, so it is ignored.
_MAX_PADDING = 4096
_CHUNK_FRAMES = 8192
_MAX_REJECTED_SHARE = 0.2
_PROBE_FRAMES = 3
_PROBE_PACKETS = 64


@dataclass(frozen=True)
class _Target:
    """How to write one output kind: muxer, codecs in order of preference, cover art."""

    muxer: str
    codecs: tuple[str, ...]
    # "stream": an attached picture stream; "comment": a Vorbis comment;
    # "attachment": a Matroska attachment.
    cover: str = "none"
    cover_codecs: tuple[str, ...] | None = None  # None: any image codec
    video: bool = False
    options: dict[str, str] = field(default_factory=dict)


_MP4_COVER = ("png", "mjpeg", "bmp")
_TARGETS: dict[str, _Target] = {
    "mp3": _Target("mp3", ("mp3",), cover="stream"),
    "wav": _Target(
        "wav", ("pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le", "pcm_u8")
    ),
    "flac": _Target("flac", ("flac",), cover="stream"),
    # The "mp4" muxer with the M4A brand, not "ipod": PyAV refuses a cover-art
    # stream for "ipod", while "mp4" writes it as the iTunes covr atom.
    "m4a": _Target(
        "mp4",
        ("aac", "alac"),
        cover="stream",
        cover_codecs=_MP4_COVER,
        options={"brand": "M4A "},
    ),
    "ogg": _Target("ogg", ("vorbis", "opus", "flac"), cover="comment"),
    "opus": _Target("opus", ("opus",), cover="comment"),
    "aac": _Target("adts", ("aac",)),
    "mp4": _Target(
        "mp4",
        ("aac", "mp3", "alac", "opus", "flac", "ac3"),
        cover="stream",
        cover_codecs=_MP4_COVER,
        video=True,
    ),
    "mov": _Target("mov", ("aac", "alac", "pcm_s16le", "pcm_s24le", "mp3"), video=True),
    "mkv": _Target(
        "matroska",
        ("aac", "opus", "vorbis", "flac", "mp3", "ac3", "eac3", "pcm_s16le", "pcm_s24le"),
        cover="attachment",
        video=True,
    ),
    "webm": _Target("webm", ("opus", "vorbis"), video=True),
}

MEDIA_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
}
"""The Content-Type of each output kind."""

OUTPUT_FORMATS: tuple[str, ...] = tuple(_TARGETS)
"""Every kind `encode` can write; `MediaInfo.kind` is one of these for a supported upload."""

# Bit-rate bounds per lossy encoder, so a copied source rate is one it accepts.
_BITRATE_RANGE = {
    "mp3": (32_000, 320_000),
    "aac": (16_000, 512_000),
    "opus": (6_000, 510_000),
    "vorbis": (32_000, 500_000),
    "ac3": (32_000, 640_000),
    "eac3": (32_000, 640_000),
}


@dataclass(frozen=True)
class MediaInfo:
    """What `probe` found in an upload."""

    format_name: str  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    kind: str  # the extension-like format: "mp3", "wav", "flac", "m4a", "ogg", "mp4", ...
    codec: str  # the audio codec, e.g. "mp3", "aac", "pcm_s16le", "vorbis", "opus"
    sample_rate: int
    channels: int
    layout: str  # channel layout, e.g. "stereo"
    sample_format: str  # the decoder's native sample format, e.g. "fltp", "s16"
    duration: float  # seconds
    bit_rate: int | None  # the audio stream's bits per second, when known
    has_video: bool  # a real video stream, cover art not counted
    has_cover_art: bool
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class DecodedAudio:
    """A whole decoded audio track: float32 samples of shape (frames, channels)."""

    samples: np.ndarray
    sample_rate: int
    channels: int
    layout: str = ""

    @property
    def duration(self) -> float:
        """The length in seconds."""
        return self.samples.shape[0] / self.sample_rate


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Reads an upload's format, audio stream and tags, and decodes its first frames.

    Args:
        path: the file to inspect.

    Returns:
        What the file holds.

    Raises:
        InvalidArgument: for a file that is not audio (or video with audio) with at
            least one decodable audio frame: empty, truncated, garbage, text.
    """
    with _open_input(path) as container:
        stream = _audio_stream(container, path)
        _check_decodes(container, stream, path)
        ctx = stream.codec_context
        pictures = [s for s in container.streams.video if _is_picture(s)]
        videos = [s for s in container.streams.video if not _is_picture(s)]
        layout = ctx.layout.name if ctx.layout else ""
        return MediaInfo(
            format_name=container.format.name,
            kind=_kind(container, path, bool(videos)),
            codec=ctx.codec.canonical_name,
            sample_rate=ctx.sample_rate,
            channels=ctx.channels,
            layout=layout,
            sample_format=ctx.format.name if ctx.format else "",
            duration=_duration(container, stream),
            bit_rate=(ctx.bit_rate or stream.bit_rate or container.bit_rate or None),
            has_video=bool(videos),
            has_cover_art=bool(pictures),
            tags=_tags(container, stream),
        )


class DecodedStream(Iterator[np.ndarray]):
    """A file's audio track as it decodes: float32 chunks of shape (frames, channels).

    `sample_rate`, `channels` and `layout` are known before the first chunk is read.
    Iterate it once; the file stays open until the last chunk is read, `close` is
    called, or a ``with`` block around it ends.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int,
        layout: str,
        chunks: Generator[np.ndarray, None, None],
        container: Any,
    ) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.layout = layout
        self._chunks = chunks
        self._container = container

    def __next__(self) -> np.ndarray:
        return next(self._chunks)

    def close(self) -> None:
        """Stops decoding and closes the file."""
        self._chunks.close()
        self._container.close()

    def __enter__(self) -> DecodedStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def decode(path: str | os.PathLike[str]) -> DecodedAudio:
    """Decodes a file's audio track whole, at its own rate and channel count.

    The same samples as `decode_stream` gives, joined: see there for the details.

    Args:
        path: the file to decode.

    Returns:
        float32 samples of shape (frames, channels) at the source sample rate.

    Raises:
        InvalidArgument: for a file with no decodable audio.
    """
    with decode_stream(path) as stream:
        chunks = list(stream)
    samples = np.concatenate(chunks) if chunks else np.zeros((0, stream.channels), np.float32)
    return DecodedAudio(samples, stream.sample_rate, stream.channels, stream.layout)


def decode_stream(
    path: str | os.PathLike[str], *, chunk_frames: int = _CHUNK_FRAMES
) -> DecodedStream:
    """Decodes a file's audio track as a stream of chunks, holding only a few in memory.

    The rate, channel count and layout are those of the first decoded frame; later
    frames in another format are converted to it. Packets the decoder rejects are
    skipped (and logged), as players do. For MP4 family files the stream ends at
    the stream's declared duration, which drops the encoder's end padding that
    PyAV leaves in (unless the decode overshoots it by more than padding could).

    Args:
        path: the file to decode.
        chunk_frames: frames per chunk; the last chunk may be shorter.

    Returns:
        The stream; its chunks are float32 of shape (frames, channels) at
        `sample_rate`, and add up to the track's exact length.

    Raises:
        InvalidArgument: for a file with no decodable audio, or a bad `chunk_frames`;
            while iterating, for a file found to be corrupt.
    """
    if isinstance(chunk_frames, bool) or not isinstance(chunk_frames, int) or chunk_frames < 1:
        raise InvalidArgument(f"chunk_frames must be a positive integer, not {chunk_frames!r}")
    container = _open_input(path)
    try:
        stream = _audio_stream(container, path)
        frames = _decoded_frames(container, stream, path)
        # The first frame gives the format every chunk is brought to.
        first = next(frames, None)
        if first is None:
            raise _not_audio(path, "no audio frame could be decoded")
        declared = _declared_seconds(container, stream)
    except BaseException:
        container.close()
        raise
    rate = first.sample_rate
    channels = len(first.layout.channels)
    layout = first.layout.name
    expected = None if declared is None else int(round(declared * rate))
    pieces = _as_float(itertools.chain([first], frames), rate, channels, layout)
    chunks = _rechunked(_cut_padding(pieces, expected), chunk_frames)
    return DecodedStream(
        sample_rate=rate,
        channels=channels,
        layout=layout,
        chunks=_closing(chunks, container, frames),
        container=container,
    )


def _as_float(frames: Iterator[Any], rate: int, channels: int, layout: str) -> Iterator[np.ndarray]:
    """Decoded frames as packed float32 (frames, channels) arrays in one rate and layout."""
    resampler: av.AudioResampler | None = None
    source: tuple[str, str, int] | None = None
    for frame in frames:
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        if resampler is None or shape != source:
            # A stream may change format mid-way; a fresh resampler brings
            # every frame to the first frame's rate and layout.
            resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
            source = shape
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1, channels)
    if resampler is not None:
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1, channels)


def _cut_padding(pieces: Iterator[np.ndarray], expected: int | None) -> Iterator[np.ndarray]:
    """Ends the stream at `expected` frames when what follows is end padding.

    What comes past `expected` is held back: at most `_MAX_PADDING` frames of it
    are the encoder's padding and are dropped at the end; more means the
    declared length is wrong, and everything is let through.
    """
    if expected is None:
        yield from pieces
        return
    passed = 0
    held: list[np.ndarray] = []
    held_frames = 0
    for piece in pieces:
        if held_frames > _MAX_PADDING:
            yield piece
            continue
        if passed < expected:
            head = piece[: expected - passed]
            passed += head.shape[0]
            piece = piece[head.shape[0] :]
            yield head
        if piece.shape[0]:
            held.append(piece)
            held_frames += piece.shape[0]
            if held_frames > _MAX_PADDING:
                yield from held
                held = []


def _rechunked(pieces: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """The same frames in chunks of exactly `size` frames, the last one shorter."""
    buffer: list[np.ndarray] = []
    buffered = 0
    for piece in pieces:
        if not piece.shape[0]:
            continue
        buffer.append(piece)
        buffered += piece.shape[0]
        if buffered < size:
            continue
        joined = _joined(buffer)
        whole = buffered - buffered % size
        for start in range(0, whole, size):
            yield joined[start : start + size]
        buffer = [joined[whole:]] if whole < buffered else []
        buffered -= whole
    if buffered:
        yield _joined(buffer)


def _closing(
    chunks: Iterator[np.ndarray], container: Any, frames: Generator[Any, None, None]
) -> Generator[np.ndarray, None, None]:
    """Yields the chunks; closes the decoder and the file when done, stopped or collected."""
    try:
        yield from chunks
    finally:
        frames.close()
        container.close()


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mixes audio down to mono and resamples it to 16 kHz for transcription.

    Args:
        samples: (frames, channels) or (frames,) float32 audio.
        sample_rate: its rate in Hz.

    Returns:
        1-D float32 audio at 16 kHz, round(frames · 16000 / sample_rate) long.
    """
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    expected = int(round(mono.shape[0] * TRANSCRIBE_RATE / sample_rate))
    if sample_rate == TRANSCRIBE_RATE or mono.size == 0:
        return mono.copy()
    resampler = av.AudioResampler(format="flt", layout="mono", rate=TRANSCRIBE_RATE)
    pieces: list[np.ndarray] = []
    for start in range(0, mono.shape[0], sample_rate):
        frame = av.AudioFrame.from_ndarray(
            mono[start : start + sample_rate].reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, sample_rate)
        pieces.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
    pieces.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    out = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if out.shape[0] < expected:
        out = np.pad(out, (0, expected - out.shape[0]))
    return np.ascontiguousarray(out[:expected], dtype=np.float32)


def parse_bitrate(value: str | int) -> int:
    """Parses a bit rate such as "128k", "1.5M" or 192000 into bits per second.

    Args:
        value: the rate, with an optional k or M suffix.

    Returns:
        Bits per second.

    Raises:
        InvalidArgument: for anything that is not a positive rate.
    """
    if isinstance(value, int):
        number = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)(?:bps|b/s)?\s*", value)
        if not match:
            raise InvalidArgument(f"bit rate {value!r} is not like '128k' or '192000'")
        scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
        number = float(match.group(1)) * scale
    if not 1_000 <= number <= 10_000_000:
        raise InvalidArgument(f"bit rate {value!r} is out of range")
    return int(number)


def encode(
    decoded_samples: np.ndarray,
    sample_rate: int,
    source_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    output_format: str | None = None,
    bitrate: str | None = None,
    preserve_metadata: bool = True,
) -> None:
    """Writes rendered audio in the source's container and codec, or in `output_format`.

    `encode_stream` with the whole track as one chunk: see there for the details.

    Args:
        decoded_samples: (frames, channels) float32 audio, e.g. `render`'s output.
        sample_rate: its rate, the rate `decode` gave.
        source_path: the upload the audio came from (format, tags, cover, video).
        output_path: where to write.
        output_format: one of OUTPUT_FORMATS; None keeps the source's.
        bitrate: e.g. "128k"; None keeps the source's rate where it applies, else 192k.
        preserve_metadata: copy tags and cover art.

    Raises:
        InvalidArgument: for bad samples, an unknown output format, a bad bit rate, a
            source that is not decodable audio, or a conversion the target cannot hold.
    """
    _check_chunk(decoded_samples, None)
    encode_stream(
        [decoded_samples],
        sample_rate,
        source_path,
        output_path,
        output_format=output_format,
        bitrate=bitrate,
        preserve_metadata=preserve_metadata,
    )


def encode_stream(
    chunks: Iterable[np.ndarray],
    sample_rate: int,
    source_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    output_format: str | None = None,
    bitrate: str | None = None,
    preserve_metadata: bool = True,
) -> None:
    """Writes a stream of rendered audio chunks in the source's format, or `output_format`.

    The chunks are encoded as they come, so memory stays flat however long the
    track is. The audio keeps the source's rate and channel layout (Opus, which only
    runs at 48 kHz and below, is resampled up when it must be). Tags and cover art
    are copied when `preserve_metadata`; a video container keeps its video streams,
    packet for packet, interleaved with the audio by time. Priming and padding are
    signalled where the container can (MP3 LAME header, MP4 edit list, Ogg pre-skip
    and granule position), so the decoded output is as long as the decoded source;
    ADTS cannot signal them, and for ADTS-to-ADTS the source's own priming is dropped
    instead so the lengths still match. The file appears at `output_path` only when
    complete: an error, from the chunks too, leaves nothing there.

    Args:
        chunks: (frames, channels) float32 arrays of any lengths, all with the same
            channel count, e.g. `decode_stream`'s; with none, an empty track with
            the source's channel count is written.
        sample_rate: their rate, the rate `decode_stream` gave.
        source_path: the upload the audio came from (format, tags, cover, video).
        output_path: where to write.
        output_format: one of OUTPUT_FORMATS; None keeps the source's.
        bitrate: e.g. "128k"; None keeps the source's rate where it applies, else 192k.
        preserve_metadata: copy tags and cover art.

    Raises:
        InvalidArgument: for a badly shaped chunk, an unknown output format, a bad bit
            rate, a source that is not decodable audio, or a conversion the target
            cannot hold.
    """
    info = probe(source_path)
    kind = (output_format or info.kind).lower().lstrip(".")
    target = _TARGETS.get(kind)
    if target is None:
        raise InvalidArgument(
            f"output format {kind!r} is not supported; expected one of {', '.join(OUTPUT_FORMATS)}"
        )
    bit_rate = parse_bitrate(bitrate) if bitrate is not None else None
    # The output stream's layout needs the channel count before anything is written.
    pending = iter(chunks)
    first = next(pending, None)
    channels = info.channels if first is None else _check_chunk(first, None).shape[1]
    checked = _checked(pending if first is None else itertools.chain([first], pending), channels)
    if kind == "aac" and info.kind == "aac":
        # The decoded ADTS source starts with its encoder's priming and the new
        # encode adds the same again; dropping the old one keeps timing and length.
        checked = _without_priming(checked, _AAC_PRIMING)
    output = Path(output_path)
    partial = output.with_name(f".{output.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        _write(
            chunks=checked,
            channels=channels,
            sample_rate=sample_rate,
            source_path=Path(source_path),
            partial=partial,
            info=info,
            kind=kind,
            target=target,
            bit_rate=bit_rate,
            preserve_metadata=preserve_metadata,
        )
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("wrote %s (%s) from %s", output.name, kind, Path(source_path).name)


def _check_chunk(chunk: np.ndarray, channels: int | None) -> np.ndarray:
    """Returns a chunk as C-ordered float32 if it is (frames, channels) audio."""
    chunk = np.asarray(chunk)
    if chunk.ndim != 2 or chunk.shape[1] < 1:
        raise InvalidArgument(f"samples must be (frames, channels), not shape {chunk.shape}")
    if channels is not None and chunk.shape[1] != channels:
        raise InvalidArgument(
            f"every chunk must have {channels} channels; this one has {chunk.shape[1]}"
        )
    return np.ascontiguousarray(chunk, dtype=np.float32)


def _checked(chunks: Iterator[np.ndarray], channels: int) -> Iterator[np.ndarray]:
    for chunk in chunks:
        yield _check_chunk(chunk, channels)


def _without_priming(chunks: Iterator[np.ndarray], priming: int) -> Iterator[np.ndarray]:
    """Drops the first `priming` frames, unless the whole stream is no longer than that."""
    held: list[np.ndarray] = []
    held_frames = 0
    for chunk in chunks:
        if held_frames > priming:
            yield chunk
            continue
        held.append(chunk)
        held_frames += chunk.shape[0]
        if held_frames > priming:
            yield _joined(held)[priming:]
            held = []
    yield from held


def _write(
    *,
    chunks: Iterator[np.ndarray],
    channels: int,
    sample_rate: int,
    source_path: Path,
    partial: Path,
    info: MediaInfo,
    kind: str,
    target: _Target,
    bit_rate: int | None,
    preserve_metadata: bool,
) -> None:
    with ExitStack() as stack:
        source = stack.enter_context(_open_input(source_path))
        src_audio = _audio_stream(source, source_path)
        copied = _copied_streams(source, target, kind)
        cover = _cover(source_path) if preserve_metadata and target.cover != "none" else None
        codec = _audio_codec(target, info.codec)
        layout = _layout_name(info.layout, channels)
        rate = _output_rate(codec, sample_rate)
        options = dict(target.options)
        if target.muxer in ("mp4", "mov"):
            # The edit list that trims priming and padding counts in the movie timescale
            # (1000 by default, which rounds the length to whole milliseconds).
            options["movie_timescale"] = str(rate)
        out = stack.enter_context(
            av.open(str(partial), "w", format=target.muxer, container_options=options)
        )
        audio = out.add_stream(codec.name, rate=rate, layout=layout)
        ctx = audio.codec_context
        ctx.format = _sample_format(codec, info.sample_format)
        if codec.experimental:
            ctx.options = {**ctx.options, "strict": "experimental"}
        # FFmpeg's own Vorbis encoder (the wheel has no libvorbis) ignores the bit
        # rate and encodes at its fixed quality; every other lossy encoder honours it.
        if not codec.lossless and not codec.canonical_name.startswith("pcm_"):
            ctx.bit_rate = bit_rate or _default_bitrate(codec.canonical_name, info)
        if codec.canonical_name == "flac" and ctx.format.name == "s32":
            ctx.options = {**ctx.options, "bits_per_raw_sample": "24"}
        if preserve_metadata:
            out.metadata.update(info.tags)
            if target.muxer in ("ogg", "opus"):
                audio.metadata.update(info.tags)
        if target.video:
            _copy_stream_tags(src_audio, audio, preserve_metadata)
        out_copies = []
        for stream in copied:
            out_stream = _add_copy(out, stream, kind)
            _copy_stream_tags(stream, out_stream, preserve_metadata)
            out_copies.append(out_stream)
        if preserve_metadata:
            _copy_attachments(source, out, kind)
        picture = None
        if cover is not None:
            picture = _add_cover(out, audio, target, cover)
        try:
            out.start_encoding()
        except (av.error.FFmpegError, ValueError) as exc:
            raise InvalidArgument(
                f"cannot write {info.codec} audio from {source_path.name} as {kind}: {exc}"
            ) from exc
        if picture is not None and cover is not None:
            packet = av.Packet(cover.data)
            packet.stream = picture
            packet.pts = packet.dts = 0
            out.mux(packet)
        # In a video container the audio starts where the source's did, so it
        # stays in sync with the copied video.
        start = _audio_start(source_path) if copied else 0.0
        writer = _AudioWriter(out, audio, chunks, sample_rate, layout, start)
        if copied:
            by_index = dict(zip((s.index for s in copied), out_copies, strict=True))
            for packet in source.demux(copied):
                if packet.size == 0 or packet.stream.index not in by_index:
                    continue
                when = packet.dts if packet.dts is not None else packet.pts
                if when is not None and packet.time_base is not None:
                    writer.write_until(float(when * packet.time_base))
                packet.stream = by_index[packet.stream.index]
                out.mux(packet)
        writer.finish()


class _AudioWriter:
    """Feeds float sample chunks through a resampler into an encoder and the muxer, in order.

    Chunks are pulled from the iterator only as far as the output has got, so a
    video container's packets and the audio interleave without buffering either.
    """

    def __init__(
        self,
        out: Any,
        stream: Any,
        chunks: Iterator[np.ndarray],
        sample_rate: int,
        layout: str,
        start: float,
    ) -> None:
        self._out = out
        self._stream = stream
        self._chunks = chunks
        self._current = np.zeros((0, 1), np.float32)
        self._rate = sample_rate
        self._layout = layout
        self._pos = 0
        self._offset = int(round(start * sample_rate))
        ctx = stream.codec_context
        self._resampler = av.AudioResampler(
            format=ctx.format.name,
            layout=layout,
            rate=ctx.sample_rate,
            frame_size=ctx.frame_size or None,
        )

    def write_until(self, seconds: float) -> None:
        """Encodes the audio up to `seconds` on the output timeline (and a little more)."""
        limit = None
        if not math.isinf(seconds):
            limit = int((seconds + 0.25) * self._rate) - self._offset
        while limit is None or self._pos < limit:
            if not self._current.shape[0]:
                chunk = next(self._chunks, None)
                if chunk is None:
                    return
                self._current = chunk
                continue
            size = min(self._current.shape[0], _CHUNK_FRAMES)
            if limit is not None:
                size = min(size, limit - self._pos)
            piece, self._current = self._current[:size], self._current[size:]
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(piece).reshape(1, -1), format="flt", layout=self._layout
            )
            frame.sample_rate = self._rate
            frame.pts = self._offset + self._pos
            frame.time_base = Fraction(1, self._rate)
            self._pos += size
            for converted in self._resampler.resample(frame):
                self._out.mux(self._stream.encode(converted))

    def finish(self) -> None:
        """Encodes what is left and flushes the resampler and the encoder."""
        self.write_until(math.inf)
        for converted in self._resampler.resample(None):
            self._out.mux(self._stream.encode(converted))
        self._out.mux(self._stream.encode(None))


def _open_input(path: str | os.PathLike[str]) -> Any:
    name = Path(path).name
    try:
        if os.path.getsize(path) == 0:
            raise _not_audio(path, "the file is empty")
        return av.open(str(path), "r", metadata_errors="replace")
    except FileNotFoundError as exc:
        raise InvalidArgument(f"{name} does not exist") from exc
    except av.error.FFmpegError as exc:
        raise _not_audio(path, _reason(exc)) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise _not_audio(path, str(exc)) from exc


def _reason(exc: av.error.FFmpegError) -> str:
    """FFmpeg's message without the errno and file name PyAV adds around it."""
    return str(exc.strerror or exc).lower()


def _not_audio(path: str | os.PathLike[str], reason: str) -> InvalidArgument:
    return InvalidArgument(f"{Path(path).name} is not a decodable audio file: {reason}")


def _audio_stream(container: Any, path: str | os.PathLike[str]) -> Any:
    if not container.streams.audio:
        raise _not_audio(path, "it has no audio stream")
    try:
        return container.streams.best("audio") or container.streams.audio[0]
    except av.error.FFmpegError:
        return container.streams.audio[0]


def _decoded_frames(
    container: Any, stream: Any, path: str | os.PathLike[str]
) -> Generator[Any, None, None]:
    """Every decoded frame of `stream`, skipping packets the decoder rejects.

    A few bad packets are skipped, as players do; when more than a fifth of them are
    bad the file is corrupt, and censoring what is left would not give the track back.
    """
    rejected = packets = 0
    try:
        for packet in container.demux(stream):
            packets += packet.size > 0
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                rejected += 1
                logger.warning("skipping a bad packet in %s: %s", Path(path).name, exc)
                continue
            for frame in frames:
                if frame.samples:
                    yield frame
    except av.error.FFmpegError as exc:
        # A demuxer error mid-file (truncated upload): keep what was read.
        logger.warning("stopped reading %s early: %s", Path(path).name, exc)
    if rejected:
        logger.warning("%d bad packets skipped in %s", rejected, Path(path).name)
    if rejected > max(2, _MAX_REJECTED_SHARE * packets):
        raise _not_audio(
            path, f"it is corrupt: {rejected} of {packets} audio packets could not be decoded"
        )


def _check_decodes(container: Any, stream: Any, path: str | os.PathLike[str]) -> None:
    decoded = 0
    packets = 0
    error = "no audio frame could be decoded"
    try:
        for packet in container.demux(stream):
            packets += 1
            try:
                decoded += sum(1 for f in packet.decode() if f.samples)
            except av.error.FFmpegError as exc:
                error = _reason(exc)
            if decoded >= _PROBE_FRAMES or packets >= _PROBE_PACKETS:
                break
    except av.error.FFmpegError as exc:
        error = _reason(exc)
    if not decoded:
        raise _not_audio(path, error)
    if stream.codec_context.sample_rate <= 0 or stream.codec_context.channels <= 0:
        raise _not_audio(path, "the audio stream has no sample rate or channels")


def _is_picture(stream: Any) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _kind(container: Any, path: str | os.PathLike[str], has_video: bool) -> str:
    names = set(container.format.name.split(","))
    ext = Path(path).suffix.lower().lstrip(".")
    if "mp3" in names:
        return "mp3"
    if "wav" in names:
        return "wav"
    if "flac" in names:
        return "flac"
    if "aac" in names:
        return "aac"
    if "ogg" in names:
        return "opus" if ext == "opus" else "ogg"
    if "matroska" in names:
        return "webm" if ext == "webm" else "mkv"
    if "mov" in names:
        brand = str(container.metadata.get("major_brand", "")).strip().lower()
        if ext in ("m4a", "m4b", "m4r", "m4p") or brand in ("m4a", "m4b", "m4p"):
            return "m4a"
        if ext == "mov" or brand == "qt":
            return "mov"
        return "mp4" if has_video or ext in ("mp4", "m4v") else "m4a"
    return str(container.format.name.split(",")[0])


def _duration(container: Any, stream: Any) -> float:
    declared = _declared_seconds(container, stream)
    if declared is not None:
        # MP4's edit list gives the exact audio length; the container's includes video.
        return declared
    if container.duration is not None:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return 0.0


def _declared_seconds(container: Any, stream: Any) -> float | None:
    """The audio length an MP4's edit list declares, which PyAV's decode overshoots."""
    if "mov" not in container.format.name.split(","):
        return None
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def _tags(container: Any, stream: Any) -> dict[str, str]:
    """Container and audio-stream tags (Ogg keeps them on the stream), plumbing left out."""
    tags: dict[str, str] = {}
    for source in (stream.metadata, container.metadata):
        for key, value in source.items():
            if key.lower() not in _TECHNICAL_TAGS and key not in tags:
                tags[key] = value
    return tags


def _copy_stream_tags(source: Any, dest: Any, preserve_metadata: bool) -> None:
    for key in _STREAM_TAGS:
        value = source.metadata.get(key)
        if value and (preserve_metadata or key == "language"):
            dest.metadata[key] = value


def _copied_streams(source: Any, target: _Target, kind: str) -> list[Any]:
    """The source's video (and, same-kind, subtitle) streams a video target keeps."""
    if not target.video:
        return []
    streams = [s for s in source.streams.video if not _is_picture(s)]
    if kind == _kind(source, source.name, bool(streams)):
        streams += list(source.streams.subtitles)
    return streams


def _copy_attachments(source: Any, out: Any, kind: str) -> None:
    """Matroska to Matroska keeps attachments (subtitle fonts); they live in the header."""
    if kind not in ("mkv", "webm") or kind != _kind(source, source.name, False):
        return
    for stream in source.streams.attachments:
        out.add_stream_from_template(stream)


def _add_copy(out: Any, stream: Any, kind: str) -> Any:
    try:
        copy = out.add_stream_from_template(stream)
    except ValueError as exc:
        raise InvalidArgument(
            f"{kind} cannot hold the source's {stream.codec_context.name} {stream.type}"
        ) from exc
    copy.disposition = stream.disposition
    return copy


@dataclass(frozen=True)
class _Cover:
    """An attached picture read from the source."""

    codec: str
    width: int
    height: int
    tags: dict[str, str]
    data: bytes


def _cover(path: Path) -> _Cover | None:
    """The source's first attached picture, if it has one."""
    with _open_input(path) as container:
        for stream in container.streams.video:
            if not _is_picture(stream):
                continue
            try:
                for packet in container.demux(stream):
                    if packet.size:
                        ctx = stream.codec_context
                        return _Cover(
                            ctx.name, ctx.width, ctx.height, dict(stream.metadata), bytes(packet)
                        )
            except av.error.FFmpegError as exc:
                logger.warning("cannot read the cover art of %s: %s", path.name, exc)
            return None
    return None


def _add_cover(out: Any, audio: Any, target: _Target, cover: _Cover) -> Any:
    """Adds cover art to the output; returns the picture stream to mux it into, if any."""
    codec_name, width, height, tags = cover.codec, cover.width, cover.height, cover.tags
    if target.cover_codecs is not None and codec_name not in target.cover_codecs:
        logger.info("dropping %s cover art: the %s muxer cannot hold it", codec_name, target.muxer)
        return None
    if target.cover == "comment":
        audio.metadata["METADATA_BLOCK_PICTURE"] = _picture_block(cover)
        return None
    mime = _PICTURE_MIME.get(codec_name, "image/" + codec_name)
    if target.cover == "attachment":
        extension = mime.split("/")[-1].replace("jpeg", "jpg")
        name = tags.get("filename") or f"cover.{extension}"
        out.add_attachment(name, tags.get("mimetype") or mime, cover.data)
        return None
    try:
        # A stream without an encoder: the picture's bytes are copied as they are.
        picture = out.add_mux_stream(codec_name, width=width, height=height)
    except ValueError:
        logger.info("dropping %s cover art: the %s muxer cannot hold it", codec_name, target.muxer)
        return None
    picture.disposition = av.stream.Disposition.attached_pic
    for key in ("comment", "title", "filename", "mimetype"):
        if tags.get(key):
            picture.metadata[key] = tags[key]
    return picture


def _picture_block(cover: _Cover) -> str:
    """A FLAC PICTURE block, base64 as Vorbis comments carry it."""
    mime = _PICTURE_MIME.get(cover.codec, "image/" + cover.codec).encode()
    comment = cover.tags.get("comment", "Cover (front)")
    kind = _PICTURE_TYPES.index(comment) if comment in _PICTURE_TYPES else 3
    description = cover.tags.get("title", "").encode()
    block = (
        struct.pack(">II", kind, len(mime))
        + mime
        + struct.pack(">I", len(description))
        + description
        + struct.pack(">IIIII", cover.width, cover.height, 24, 0, len(cover.data))
        + cover.data
    )
    return base64.b64encode(block).decode("ascii")


def _audio_codec(target: _Target, source_codec: str) -> Any:
    """The encoder: the source's codec when the target takes it, else the target's default."""
    names = [source_codec] if source_codec in target.codecs else []
    names += list(target.codecs)
    for name in names:
        try:
            codec = av.codec.Codec(name, "w")
        except (av.error.FFmpegError, ValueError):
            continue
        if codec.type == "audio":
            return codec
    raise InvalidArgument(f"no encoder available for the {target.muxer} format")


def _output_rate(codec: Any, sample_rate: int) -> int:
    rates = codec.audio_rates
    if not rates or sample_rate in rates:
        return sample_rate
    higher = [r for r in rates if r >= sample_rate]
    return min(higher) if higher else max(rates)


def _sample_format(codec: Any, source_format: str) -> str:
    formats = [f.name for f in codec.audio_formats or ()]
    if not formats:
        return "fltp"
    if source_format in formats:
        return source_format
    # Keep the source's bit depth for lossless and PCM targets where possible.
    wide = {"s32", "s32p", "flt", "fltp", "dbl", "dblp"}
    if source_format in wide:
        for name in ("s32", "s32p", "flt", "fltp"):
            if name in formats:
                return name
    return formats[0]


def _layout_name(layout: str, channels: int) -> str:
    """A named layout for the encoder; WAV's "2 channels" (order unknown) becomes "stereo"."""
    if layout:
        try:
            parsed = av.AudioLayout(layout)
            if parsed.nb_channels == channels and not parsed.name.endswith("channels"):
                return str(parsed.name)
        except (ValueError, av.error.FFmpegError):
            pass
    return str(av.AudioLayout(f"{channels}c").name)


def _default_bitrate(codec_name: str, info: MediaInfo) -> int:
    low, high = _BITRATE_RANGE.get(codec_name, (32_000, 512_000))
    if info.codec == codec_name and info.bit_rate:
        return max(low, min(high, int(info.bit_rate)))
    return max(low, min(high, DEFAULT_BITRATE))


def _audio_start(path: Path) -> float:
    """When the source's first decoded audio frame plays, in seconds (0 if unknown)."""
    with _open_input(path) as container:
        stream = _audio_stream(container, path)
        for frame in _decoded_frames(container, stream, path):
            if frame.pts is None or frame.time_base is None:
                return 0.0
            return max(0.0, float(frame.pts * frame.time_base))
    return 0.0
