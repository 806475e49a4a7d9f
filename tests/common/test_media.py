"""Media I/O on real codecs: probe, decode, and re-encode keeping format, length, tags and art."""

from __future__ import annotations

import io
import math
import threading
import tracemalloc
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import psutil
import pytest

from services.censor.dsp import Span, render, rms_db
from services.common import media
from services.common.errors import InvalidArgument

RATE = 44_100
SECONDS = 3.0
TAGS = {"title": "Test Title", "artist": "Test Artist", "album": "Test Album"}


@dataclass(frozen=True)
class Fixture:
    """How one sample upload is written."""

    name: str
    codec: str
    muxer: str
    kind: str
    cover: bool = False
    rate: int = RATE


FIXTURES = {
    "mp3": Fixture("song.mp3", "libmp3lame", "mp3", "mp3", cover=True),
    "wav": Fixture("song.wav", "pcm_s16le", "wav", "wav"),
    "flac": Fixture("song.flac", "flac", "flac", "flac", cover=True),
    "m4a": Fixture("song.m4a", "aac", "mp4", "m4a", cover=True),
    "ogg": Fixture("song.ogg", "vorbis", "ogg", "ogg"),
    "opus": Fixture("voice.ogg", "libopus", "ogg", "ogg", rate=48_000),
    "aac": Fixture("song.aac", "aac", "adts", "aac"),
    "mp4": Fixture("clip.mp4", "aac", "mp4", "mp4"),
}
CODEC = {
    "mp3": "mp3",
    "wav": "pcm_s16le",
    "flac": "flac",
    "m4a": "aac",
    "ogg": "vorbis",
    "opus": "opus",
    "aac": "aac",
    "mp4": "aac",
}
LOSSLESS = ("wav", "flac")
AUDIO_ONLY = [k for k in FIXTURES if k != "mp4"]


def _signal(rate: int) -> np.ndarray:
    """Three seconds of stereo tones plus noise, (frames, channels) float32."""
    t = np.arange(int(SECONDS * rate)) / rate
    rng = np.random.default_rng(3)
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.3 * np.sin(2 * np.pi * 660 * t) + 0.05 * rng.standard_normal(t.size)
    return np.stack([left, right], axis=1).astype(np.float32)


def _png() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="image2pipe") as container:
        stream = container.add_stream("png")
        stream.width = stream.height = 16
        stream.pix_fmt = "rgb24"
        image = np.zeros((16, 16, 3), np.uint8)
        image[:, :, 0] = 200
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _write(path: Path, spec: Fixture, picture: bytes, *, video: bool = False) -> None:
    samples = _signal(spec.rate)
    with av.open(str(path), "w", format=spec.muxer) as container:
        audio = container.add_stream(spec.codec, rate=spec.rate, layout="stereo")
        assert isinstance(audio, av.AudioStream)
        if spec.codec == "vorbis":
            audio.codec_context.options = {"strict": "experimental"}
        container.metadata.update(TAGS)
        cover = None
        if spec.cover:
            cover = container.add_mux_stream("png", width=16, height=16)
            cover.disposition = av.stream.Disposition.attached_pic
        clip = None
        if video:
            clip = container.add_stream("libx264", rate=10)
            clip.width = clip.height = 64
            clip.pix_fmt = "yuv420p"
        container.start_encoding()
        if cover is not None:
            packet = av.Packet(picture)
            packet.stream = cover
            packet.pts = packet.dts = 0
            container.mux(packet)
        if clip is not None:
            for i in range(int(SECONDS * 10)):
                image = np.full((64, 64, 3), (i * 8) % 256, np.uint8)
                image[i : i + 8, i : i + 8] = 255
                picture_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                picture_frame.pts = i
                container.mux(clip.encode(picture_frame))
            container.mux(clip.encode(None))
        fmt = audio.codec_context.codec.audio_formats[0].name  # type: ignore[index]
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="stereo")
        frame.sample_rate = spec.rate
        frame.pts = 0
        frame.time_base = Fraction(1, spec.rate)
        resampler = av.AudioResampler(
            format=fmt, layout="stereo", rate=spec.rate, frame_size=audio.codec_context.frame_size
        )
        for converted in resampler.resample(frame) + resampler.resample(None):
            container.mux(audio.encode(converted))
        container.mux(audio.encode(None))


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One sample upload per format, written with PyAV itself."""
    folder = tmp_path_factory.mktemp("uploads")
    picture = _png()
    paths = {}
    for kind, spec in FIXTURES.items():
        paths[kind] = folder / spec.name
        _write(paths[kind], spec, picture, video=kind == "mp4")
    return paths


def _video_packets(path: Path) -> list[tuple[bytes, int | None, int | None]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(bytes(p), p.pts, p.dts) for p in container.demux(stream) if p.size]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1])


# probe


@pytest.mark.parametrize("kind", list(FIXTURES))
def test_probe_reads_format_stream_and_tags(uploads, kind):
    info = media.probe(uploads[kind])
    spec = FIXTURES[kind]
    assert info.kind == spec.kind
    assert info.codec == CODEC[kind]
    assert (info.sample_rate, info.channels) == (spec.rate, 2)
    assert info.duration == pytest.approx(SECONDS, abs=0.12)  # ADTS estimates it from bit rate
    assert info.has_cover_art == spec.cover
    assert info.has_video == (kind == "mp4")
    if kind != "aac":  # ADTS has nowhere to keep tags
        assert {k: info.tags.get(k) for k in TAGS} == TAGS
    assert "encoder" not in info.tags


def test_probe_of_a_lossy_file_reports_its_bit_rate(uploads):
    assert media.probe(uploads["mp3"]).bit_rate == 128_000


# decode and to_mono_16k


@pytest.mark.parametrize("kind", ["wav", "flac", "mp3", "m4a", "opus"])
def test_decode_gives_the_exact_length(uploads, kind):
    decoded = media.decode(uploads[kind])
    rate = FIXTURES[kind].rate
    assert decoded.samples.dtype == np.float32
    assert decoded.samples.shape == (int(SECONDS * rate), 2)
    assert (decoded.sample_rate, decoded.channels) == (rate, 2)


def test_decode_of_lossless_audio_is_exact(uploads):
    decoded = media.decode(uploads["wav"])
    expected = np.round(np.clip(_signal(RATE), -1, 1) * 32768) / 32768
    assert np.array_equal(decoded.samples, expected.astype(np.float32))


def test_to_mono_16k_keeps_length_and_pitch():
    t = np.arange(3 * RATE) / RATE
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    mono = media.to_mono_16k(np.stack([tone, tone], axis=1), RATE)
    assert mono.dtype == np.float32 and mono.shape == (48_000,)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    assert np.fft.rfftfreq(mono.size, 1 / 16_000)[np.argmax(spectrum)] == pytest.approx(1000, abs=2)
    assert rms_db(mono[1000:-1000]) == pytest.approx(-3.0, abs=0.5)


# encode: same format round trips


@pytest.mark.parametrize("kind", list(FIXTURES))
def test_round_trip_silences_the_span_and_keeps_the_rest(uploads, tmp_path, kind):
    source = uploads[kind]
    decoded = media.decode(source)
    rate = decoded.sample_rate
    span = Span(1.0, 1.5)
    rendered = render(decoded.samples, rate, [span], "silence")
    out = tmp_path / f"clean{source.suffix}"
    media.encode(rendered, rate, source, out)

    before, after = media.probe(source), media.probe(out)
    assert (after.kind, after.codec) == (before.kind, before.codec)
    assert (after.sample_rate, after.channels, after.layout) == (
        before.sample_rate,
        before.channels,
        before.layout,
    )
    if kind != "aac":  # ADTS durations are guesses from the bit rate
        assert after.duration == pytest.approx(before.duration, abs=0.03)
    assert after.tags == before.tags
    assert after.has_cover_art == before.has_cover_art
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no partial file left

    # Priming and padding are signalled (or, for ADTS, compensated): the decoded
    # output is exactly as long as the decoded source for every format here.
    result = media.decode(out).samples
    assert result.shape == decoded.samples.shape
    start, stop = math.floor(span.start * rate), math.ceil(span.end * rate)
    fade = round(0.005 * rate)
    if kind in LOSSLESS:
        assert not np.any(result[start:stop])
        assert np.array_equal(result[: start - fade], decoded.samples[: start - fade])
        assert np.array_equal(result[stop + fade :], decoded.samples[stop + fade :])
        return
    # A lossy codec smears a little energy across one frame at each edge.
    margin = round(0.03 * rate)
    assert rms_db(result[start + margin : stop - margin]) < -50.0
    assert rms_db(decoded.samples[start:stop]) > -15.0
    kept = np.r_[0 : start - margin, stop + margin : result.shape[0]]
    assert _correlation(result[kept], decoded.samples[kept]) > 0.95


@pytest.mark.parametrize("kind", ["mp3", "m4a", "ogg"])
def test_tags_and_art_are_dropped_on_request(uploads, tmp_path, kind):
    source = uploads[kind]
    decoded = media.decode(source)
    out = tmp_path / f"bare{source.suffix}"
    media.encode(decoded.samples, decoded.sample_rate, source, out, preserve_metadata=False)
    info = media.probe(out)
    assert not set(TAGS) & set(info.tags)
    assert not info.has_cover_art


def test_video_is_copied_packet_for_packet(uploads, tmp_path):
    source = uploads["mp4"]
    decoded = media.decode(source)
    rendered = render(decoded.samples, decoded.sample_rate, [Span(1.0, 1.5)], "beep")
    out = tmp_path / "clip.mp4"
    media.encode(rendered, decoded.sample_rate, source, out)
    assert _video_packets(out) == _video_packets(source)
    info = media.probe(out)
    assert info.has_video and info.kind == "mp4" and info.codec == "aac"
    assert media.decode(out).samples.shape == decoded.samples.shape


# encode: conversions


def test_wav_to_mp3_at_128k(uploads, tmp_path):
    source = uploads["wav"]
    decoded = media.decode(source)
    out = tmp_path / "song.mp3"
    media.encode(decoded.samples, RATE, source, out, output_format="mp3", bitrate="128k")
    info = media.probe(out)
    assert (info.kind, info.codec, info.bit_rate) == ("mp3", "mp3", 128_000)
    assert (info.sample_rate, info.channels) == (RATE, 2)
    assert media.decode(out).samples.shape == decoded.samples.shape
    assert {k: info.tags.get(k) for k in TAGS} == TAGS


def test_mp3_to_ogg_keeps_cover_art_as_a_vorbis_comment(uploads, tmp_path):
    source = uploads["mp3"]
    decoded = media.decode(source)
    out = tmp_path / "song.ogg"
    media.encode(decoded.samples, RATE, source, out, output_format="ogg")
    info = media.probe(out)
    assert (info.kind, info.codec) == ("ogg", "vorbis")
    assert info.has_cover_art
    assert {k: info.tags.get(k) for k in TAGS} == TAGS


def test_mp3_to_opus_resamples_to_48k(uploads, tmp_path):
    source = uploads["mp3"]
    decoded = media.decode(source)
    out = tmp_path / "song.opus"
    media.encode(decoded.samples, RATE, source, out, output_format="opus")
    info = media.probe(out)
    assert (info.codec, info.sample_rate) == ("opus", 48_000)
    assert info.duration == pytest.approx(SECONDS, abs=0.03)


def test_unknown_output_format_and_bad_bitrate_are_rejected(uploads, tmp_path):
    source = uploads["wav"]
    samples = media.decode(source).samples
    with pytest.raises(InvalidArgument, match="output format 'xyz'"):
        media.encode(samples, RATE, source, tmp_path / "x.xyz", output_format="xyz")
    with pytest.raises(InvalidArgument, match="bit rate"):
        media.encode(samples, RATE, source, tmp_path / "x.mp3", bitrate="loud")
    assert list(tmp_path.iterdir()) == []


def test_video_codec_the_target_cannot_hold_is_rejected(uploads, tmp_path):
    source = uploads["mp4"]
    samples = media.decode(source).samples
    with pytest.raises(InvalidArgument, match="webm cannot hold"):
        media.encode(samples, RATE, source, tmp_path / "clip.webm", output_format="webm")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "value, expected",
    [("128k", 128_000), ("192000", 192_000), ("1.5M", 1_500_000), (96_000, 96_000)],
)
def test_parse_bitrate(value, expected):
    assert media.parse_bitrate(value) == expected


# streaming

EXACT = ("wav", "flac", "mp3", "m4a", "opus", "mp4")  # lengths the container signals


@pytest.mark.parametrize("kind", list(FIXTURES))
def test_decode_stream_gives_the_same_samples_as_decode(uploads, kind):
    whole = media.decode(uploads[kind])
    # 777 frames is shorter than an AAC frame, its priming and its end padding.
    with media.decode_stream(uploads[kind], chunk_frames=777) as stream:
        chunks = list(stream)
    assert (stream.sample_rate, stream.channels, stream.layout) == (
        whole.sample_rate,
        whole.channels,
        whole.layout,
    )
    assert all(c.dtype == np.float32 and c.shape == (777, 2) for c in chunks[:-1])
    assert 0 < chunks[-1].shape[0] <= 777
    samples = np.concatenate(chunks)
    assert np.array_equal(samples, whole.samples)
    if kind in EXACT:
        assert samples.shape[0] == int(SECONDS * FIXTURES[kind].rate)


@pytest.mark.parametrize("kind", list(FIXTURES))
def test_streaming_round_trip_matches_the_whole_array_one(uploads, tmp_path, kind):
    source = uploads[kind]
    decoded = media.decode(source)
    whole, streamed = tmp_path / f"whole{source.suffix}", tmp_path / f"streamed{source.suffix}"
    media.encode(decoded.samples, decoded.sample_rate, source, whole)
    with media.decode_stream(source, chunk_frames=777) as stream:
        media.encode_stream(stream, stream.sample_rate, source, streamed)

    assert media.probe(streamed) == media.probe(whole)  # format, length, tags, cover
    result = media.decode(streamed).samples
    assert np.array_equal(result, media.decode(whole).samples)
    assert result.shape == decoded.samples.shape
    if kind == "mp4":
        assert _video_packets(streamed) == _video_packets(source)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([whole.name, streamed.name])


def test_a_bad_chunk_mid_stream_leaves_no_file(uploads, tmp_path):
    def chunks() -> Iterator[np.ndarray]:
        yield np.zeros((RATE, 2), np.float32)
        yield np.zeros((RATE, 1), np.float32)

    with pytest.raises(InvalidArgument, match="every chunk must have 2 channels; this one has 1"):
        media.encode_stream(chunks(), RATE, uploads["flac"], tmp_path / "out.flac")
    assert list(tmp_path.iterdir()) == []


def _write_long_wav(path: Path, seconds: int) -> int:
    """Writes `seconds` of stereo 16-bit tones and noise; returns its length in frames."""
    block = (np.clip(_signal(RATE), -1, 1) * 32767).astype("<i2").tobytes()
    repeats = int(seconds / SECONDS)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for _ in range(repeats):
            out.writeframes(block)
    return repeats * int(SECONDS * RATE)


class _PeakRss:
    """Samples the process's resident memory on a thread: what tracemalloc cannot see,
    FFmpeg's own buffers, counts too."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._start = self._process.memory_info().rss
        self._peak = self._start
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self._peak - self._start


def test_streaming_keeps_memory_flat_on_a_long_file(tmp_path):
    source, out = tmp_path / "podcast.wav", tmp_path / "clean.wav"
    frames = _write_long_wav(source, 10 * 60)
    whole = frames * 2 * 4  # the decoded track as float32: 212 MB
    passed = 0

    def counted(chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        nonlocal passed
        for chunk in chunks:
            passed += chunk.shape[0]
            yield chunk

    tracemalloc.start()
    try:
        with _PeakRss() as rss, media.decode_stream(source) as stream:
            media.encode_stream(counted(stream), stream.sample_rate, source, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert passed == frames
    assert media.probe(out).duration == pytest.approx(frames / RATE, abs=1 / RATE)
    # The whole-array path takes twice `whole` by both measures; streaming, a few chunks.
    assert peak < whole / 10, f"{peak / 2**20:.0f} MiB traced for {whole / 2**20:.0f} MiB of audio"
    assert rss.growth < whole / 10, f"{rss.growth / 2**20:.0f} MiB resident growth"


# bad uploads


def _bad_uploads(folder: Path, mp3: Path) -> dict[str, Path]:
    text = folder / "notes.mp3"
    text.write_text("these are my lyrics, not audio\n" * 50)
    truncated = folder / "cut.mp3"
    truncated.write_bytes(mp3.read_bytes()[:300])
    empty = folder / "empty.mp3"
    empty.write_bytes(b"")
    garbage = folder / "noise.wav"
    garbage.write_bytes(np.random.default_rng(0).bytes(4000))
    return {"text": text, "truncated": truncated, "empty": empty, "garbage": garbage}


@pytest.mark.parametrize("case", ["text", "truncated", "empty", "garbage"])
def test_bad_uploads_are_invalid_arguments(uploads, tmp_path, case):
    path = _bad_uploads(tmp_path, uploads["mp3"])[case]
    message = rf"{path.name} is not a decodable audio file"
    with pytest.raises(InvalidArgument, match=message):
        media.probe(path)
    with pytest.raises(InvalidArgument, match=message):
        media.decode(path)
    with pytest.raises(InvalidArgument, match=message):
        list(media.decode_stream(path))
    with pytest.raises(InvalidArgument, match=message):
        media.encode(np.zeros((100, 2), np.float32), RATE, path, tmp_path / "out.mp3")
    with pytest.raises(InvalidArgument, match=message):
        media.encode_stream([np.zeros((100, 2), np.float32)], RATE, path, tmp_path / "out.mp3")
    assert not (tmp_path / "out.mp3").exists()


def test_a_missing_file_is_an_invalid_argument(tmp_path):
    with pytest.raises(InvalidArgument, match="does not exist"):
        media.probe(tmp_path / "nothing.mp3")
