"""The core on the real Whisper base with piper speech, and its model cache with fake loaders."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import ctranslate2
import numpy as np
import pytest

import services.transcriber.core as core_module
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.transcriber.core import (
    SAMPLE_RATE,
    Event,
    Info,
    ModelCache,
    Progress,
    Transcriber,
    WordResult,
)

FOX = "The quick brown fox jumps over the lazy dog."


def normalize(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def run(transcriber: Transcriber, audio: np.ndarray, **options: Any) -> list[Event]:
    kwargs: dict[str, Any] = {
        "model": "base",
        "device": "auto",
        "language": None,
        "hotwords": [],
        "duration": None,
        "offset": 0.0,
    }
    kwargs.update(options)
    return list(transcriber.transcribe(audio, **kwargs))


def words_of(events: list[Event]) -> list[WordResult]:
    return [e for e in events if isinstance(e, WordResult)]


@pytest.fixture(scope="module")
def fox_events(transcriber: Transcriber, fox: np.ndarray) -> list[Event]:
    return run(transcriber, fox)


def test_fox_words_come_back_in_order_with_times(fox_events: list[Event], fox: np.ndarray) -> None:
    info = fox_events[0]
    assert isinstance(info, Info)
    assert (info.language, info.model) == ("en", "base")
    words = words_of(fox_events)
    heard = [normalize(w.text) for w in words]
    said = [normalize(w) for w in FOX.split()]
    assert sum(1 for w in said if w in heard) >= 7, heard
    matched = [w for w in heard if w in said]
    assert matched == [w for w in said if w in matched], "words out of order"
    clip_seconds = fox.shape[0] / SAMPLE_RATE
    for previous, word in zip([None, *words], words, strict=False):
        assert 0 <= word.start < word.end <= clip_seconds + 0.05
        assert 0.0 <= word.probability <= 1.0
        assert word.text == word.text.strip()
        if previous is not None:
            assert word.start >= previous.start
            assert word.start >= previous.end - 1e-6


def test_progress_rises_to_100_after_the_words(fox_events: list[Event], fox: np.ndarray) -> None:
    progress = [e for e in fox_events if isinstance(e, Progress)]
    percents = [p.percent for p in progress]
    assert percents == sorted(percents)
    assert percents[-1] == 100.0
    assert isinstance(fox_events[-1], Progress)
    assert progress[-1].processed_seconds == pytest.approx(fox.shape[0] / SAMPLE_RATE)


def test_offset_shifts_every_time(
    transcriber: Transcriber, fox: np.ndarray, fox_events: list[Event]
) -> None:
    shifted = run(transcriber, fox, offset=120.0, duration=120.0 + fox.shape[0] / SAMPLE_RATE)
    before, after = words_of(fox_events), words_of(shifted)
    assert [w.text for w in after] == [w.text for w in before]
    for a, b in zip(before, after, strict=True):
        assert b.start == pytest.approx(a.start + 120.0)
        assert b.end == pytest.approx(a.end + 120.0)
    progress = [e for e in shifted if isinstance(e, Progress)]
    assert progress[0].percent > 97.0  # 120 s of a 123 s source were already done
    assert progress[-1].percent == pytest.approx(100.0)
    assert progress[-1].processed_seconds == pytest.approx(120.0 + fox.shape[0] / SAMPLE_RATE)


@pytest.mark.parametrize("samples", [0, 800])
def test_empty_or_tiny_audio_gives_info_and_100_percent(
    transcriber: Transcriber, samples: int
) -> None:
    events = run(transcriber, np.zeros(samples, dtype=np.float32), language="en")
    assert [type(e) for e in events] == [Info, Progress]
    assert events[0].language == "en"  # type: ignore[union-attr]
    assert events[1].percent == 100.0  # type: ignore[union-attr]


def test_auto_device_matches_the_machine(fox_events: list[Event]) -> None:
    info = fox_events[0]
    assert isinstance(info, Info)
    if ctranslate2.get_cuda_device_count() > 0:
        assert (info.device, info.compute_type) == ("cuda", "float16")
    else:  # CTranslate2 reports int8 weights with float32 activations as int8_float32
        assert info.device == "cpu" and info.compute_type.startswith("int8")


def test_bad_input_is_invalid(transcriber: Transcriber) -> None:
    second = np.zeros(SAMPLE_RATE, dtype=np.float32)
    with pytest.raises(InvalidArgument, match="language 'xx'"):
        run(transcriber, second, language="xx")
    with pytest.raises(InvalidArgument, match="mono"):
        run(transcriber, np.zeros((2, SAMPLE_RATE), dtype=np.float32))
    with pytest.raises(InvalidArgument, match="NaN"):
        run(transcriber, np.full(SAMPLE_RATE, np.nan, dtype=np.float32))
    with pytest.raises(InvalidArgument, match="offset"):
        run(transcriber, second, offset=-1.0)
    with pytest.raises(InvalidArgument, match="device"):
        run(transcriber, second, device="tpu")
    with pytest.raises(NotFound, match="large-v3"):
        run(transcriber, second, model="large-v3")


# The cache and the decoding options, through the same constructor door with fakes.


@dataclass
class FakeWhisper:
    source: str
    device: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    supported_languages: tuple[str, ...] = ("en",)
    hf_tokenizer: None = None
    first_start: float = 0.5

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[Iterator[Any], Any]:
        """One word at 0.5-0.9 s, or with clip_timestamps a word at the clip's start."""
        if self.device == "cuda":  # as when cuBLAS is missing: loads, fails on first use
            raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")
        self.calls.append(options)
        clip = options.get("clip_timestamps", "0")
        start = self.first_start if clip == "0" else clip[0] + 0.1
        word = SimpleNamespace(word=" Hello,", start=start, end=start + 0.4, probability=1.2)
        seek = 0 if clip == "0" else int(clip[0] * 100)
        segment = SimpleNamespace(seek=seek, start=start, end=start + 0.5, words=[word])
        return iter([segment]), SimpleNamespace(language="en", language_probability=0.5)


@dataclass
class FakeLoader:
    loads: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(self, source: str, device: str, compute_type: str) -> FakeWhisper:
        self.loads.append((source, device, compute_type))
        return FakeWhisper(source, device)


def _resolve(name: str) -> str:
    return "/models/whisper-base" if name in ("", "base") else f"/models/{name}"


def test_each_model_and_device_loads_once_across_threads() -> None:
    loader = FakeLoader()
    cache = ModelCache(_resolve, load=loader, cuda_device_count=lambda: 0)
    got: list[Any] = []
    threads = [
        threading.Thread(target=lambda n=name: got.append(cache.get(n, "auto")))
        for name in ["", "base", "base", "small"] * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(loader.loads) == [
        ("/models/small", "cpu", "int8"),
        ("/models/whisper-base", "cpu", "int8"),
    ]
    assert len({id(m.whisper) for m in got}) == 2


def test_auto_falls_back_to_the_cpu_when_the_gpu_cannot_run() -> None:
    loader = FakeLoader()
    cache = ModelCache(_resolve, load=loader, cuda_device_count=lambda: 1)
    loaded = cache.get("base", "auto")
    assert (loaded.device, loaded.compute_type) == ("cpu", "int8")
    assert cache.get("base", "auto") is loaded
    with pytest.raises(FailedPrecondition, match="libcublas"):
        cache.get("base", "cuda")


def test_forced_cuda_without_a_gpu_fails_clearly() -> None:
    cache = ModelCache(_resolve, load=FakeLoader(), cuda_device_count=lambda: 0)
    with pytest.raises(FailedPrecondition, match="no CUDA GPU"):
        cache.get("base", "cuda")
    assert cache.get("base", "CPU").device == "cpu"


def test_decoding_options_keep_every_word_and_use_the_hotwords() -> None:
    core = Transcriber(ModelCache(_resolve, load=FakeLoader(), cuda_device_count=lambda: 0))
    hotwords = ["  heck ", "Heck", "", "darn"] + [f"word{i}" for i in range(100)]
    audio = np.zeros(SAMPLE_RATE * 10, dtype=np.float32)
    events = run(core, audio, hotwords=hotwords, offset=3)
    whisper = core.preload(model="base", device="cpu").whisper
    options = whisper.calls[0]
    assert options["word_timestamps"] is True
    assert options["vad_filter"] is False
    assert options["condition_on_previous_text"] is False
    assert options["beam_size"] == 5
    assert options["temperature"] == 0.0  # no sampling: the same audio, the same words
    assert options["max_new_tokens"] == 120  # 10 s: a loop stops at 10 tokens a second + 20
    prompt = options["hotwords"]
    assert prompt == options["initial_prompt"]
    assert prompt.startswith("heck, darn, word0, ")
    assert 10 < len(prompt.split(", ")) < 100  # cut to leave Whisper room for the text
    assert words_of(events)[0] == WordResult("Hello,", 3.5, 3.9, 1.0)
    assert [e.percent for e in events if isinstance(e, Progress)][-1] == 100.0


def test_the_last_seconds_are_decoded_without_hotwords() -> None:
    core = Transcriber(ModelCache(_resolve, load=FakeLoader(), cuda_device_count=lambda: 0))
    audio = np.zeros(SAMPLE_RATE * 2, dtype=np.float32)
    events = run(core, audio, hotwords=["heck"])
    first, tail = core.preload(model="base", device="cpu").whisper.calls
    assert first["hotwords"] == "heck" and first["clip_timestamps"] == "0"
    assert tail["hotwords"] is None and tail["initial_prompt"] is None
    assert tail["clip_timestamps"] == [1.0, 2.0]
    assert (tail["language"], tail["temperature"]) == ("en", 0.0)
    assert (first["max_new_tokens"], tail["max_new_tokens"]) == (40, 30)
    assert [(w.start, w.end) for w in words_of(events)] == [(0.5, 0.9), (1.1, 1.5)]
    assert [e.percent for e in events if isinstance(e, Progress)] == [50.0, 80.0, 100.0]


def test_a_remainder_under_a_second_is_not_decoded_again() -> None:
    core = Transcriber(ModelCache(_resolve, load=FakeLoader(), cuda_device_count=lambda: 0))
    events = run(core, np.zeros(SAMPLE_RATE * 3 // 2, dtype=np.float32), hotwords=["heck"])
    assert len(core.preload(model="base", device="cpu").whisper.calls) == 1
    assert len(words_of(events)) == 1


def test_audio_the_last_window_did_not_reach_is_decoded_again() -> None:
    loader = FakeLoader()
    core = Transcriber(ModelCache(_resolve, load=loader, cuda_device_count=lambda: 0))
    whisper = core.preload(model="base", device="cpu").whisper
    whisper.first_start = 29.5  # a segment ending at 30.0 s, in a window from 0 to 30 s
    run(core, np.zeros(int(SAMPLE_RATE * 30.4), dtype=np.float32), hotwords=["heck"])
    assert whisper.calls[-1]["clip_timestamps"] == [30.0, 30.4]
    assert whisper.calls[0]["max_new_tokens"] is None  # long audio: the context's limit


def test_without_hotwords_one_pass_decodes_everything() -> None:
    core = Transcriber(ModelCache(_resolve, load=FakeLoader(), cuda_device_count=lambda: 0))
    run(core, np.zeros(SAMPLE_RATE * 2, dtype=np.float32), hotwords=["  "])
    (only,) = core.preload(model="base", device="cpu").whisper.calls
    assert only["hotwords"] is None and only["clip_timestamps"] == "0"


def test_hotwords_do_not_put_words_into_silence(
    transcriber: Transcriber, fox: np.ndarray, fox_events: list[Event]
) -> None:
    padded = np.concatenate([fox, np.zeros(SAMPLE_RATE * 2, dtype=np.float32)])
    events = run(transcriber, padded, hotwords=["fuck", "shit", "bitch"], language="en")
    heard = [normalize(w.text) for w in words_of(events)]
    assert not {"fuck", "shit", "bitch"} & set(heard), heard
    # Nothing is written into the silence, and the speech reads as without the prompt. The
    # prompt may still sway an inflection ("jumped" for "jumps"), so not word for word.
    speech_end = len(fox) / SAMPLE_RATE
    assert all(w.start < speech_end for w in words_of(events)), heard
    said = [normalize(w.text) for w in words_of(fox_events)]
    same = sum(a == b for a, b in zip(heard, said, strict=False))
    assert same >= 0.8 * len(said), (heard, said)


class _Segment:
    def __init__(
        self,
        start: float,
        end: float,
        *words: str,
        compression_ratio: float = 1.2,
        avg_logprob: float = -0.3,
        no_speech_prob: float = 0.01,
    ) -> None:
        self.start, self.end = start, end
        self.words = [type("W", (), {"word": f" {w}"})() for w in words]
        self.compression_ratio = compression_ratio
        self.avg_logprob = avg_logprob
        self.no_speech_prob = no_speech_prob


def _echo_pass(segments: list[_Segment]) -> tuple[list[list[str]], list[tuple[float, float]]]:
    again: list[tuple[float, float]] = []

    def redo(start: float, end: float) -> Iterator[Any]:
        again.append((start, end))
        return iter([_Segment(start, end, "redone")])

    kept = core_module._unechoed(iter(segments), {"fuck", "shit", "dick", "ass"}, redo)
    return [[w.word.strip() for w in s.words] for s in kept], again


def test_a_segment_that_echoes_the_prompt_is_decoded_again_without_it() -> None:
    words, again = _echo_pass(
        [
            _Segment(0.0, 2.0, "This", "fucking", "car", "will", "not", "start."),
            _Segment(2.0, 9.0, "dick,", "ass,", "dick,", "ass,", "dick,"),
            _Segment(9.0, 12.0, "Fuck,", "fuck,", "fuck,", "fuck."),
        ]
    )
    assert words == [["This", "fucking", "car", "will", "not", "start."], ["redone"], ["redone"]]
    assert again == [(2.0, 9.0), (9.0, 12.0)]


def test_speech_with_a_few_listed_words_is_kept() -> None:
    segments = [
        _Segment(0.0, 2.0, "Oh", "shit,", "the", "dick", "is", "late."),  # 2 of 6
        _Segment(2.0, 3.0, "Shit,", "shit!"),  # fewer than three
    ]
    words, again = _echo_pass(segments)
    assert again == [] and words == [
        ["Oh", "shit,", "the", "dick", "is", "late."],
        ["Shit,", "shit!"],
    ]


def test_a_window_whisper_doubts_is_decoded_again_and_its_segments_once() -> None:
    again: list[tuple[float, float]] = []

    def redo(start: float, end: float) -> Iterator[Any]:
        again.append((start, end))
        return iter([_Segment(start, end, "redone")])

    loop = {"compression_ratio": 3.1}
    unsure = {"avg_logprob": -1.4}
    segments = [
        _Segment(0.0, 2.0, "This", "car", "will", "not", "start."),
        _Segment(2.0, 4.0, "go", "go", "go", **loop),  # one window that loops ...
        _Segment(4.0, 5.0, "go", "go", **loop),  # ... in two segments: heard again once
        _Segment(5.0, 6.0, "mumble", **unsure),  # the next window: unsure of speech
        _Segment(6.0, 8.0, "Hm.", avg_logprob=-1.4, no_speech_prob=0.9),  # silence
        _Segment(8.0, 9.0, "uh", **unsure),
    ]
    for segment, seek in zip(segments, [0, 0, 0, 500, 600, 800], strict=True):
        segment.seek = seek
    kept = core_module._redecoded(iter(segments), redo)
    words = [[w.word.strip() for w in s.words] for s in kept]
    assert again == [(2.0, 5.0), (5.0, 6.0), (8.0, 9.0)]
    assert words == [
        ["This", "car", "will", "not", "start."],
        ["redone"],
        ["redone"],
        ["Hm."],
        ["redone"],
    ]


@dataclass
class _LoopingWhisper(FakeWhisper):
    """Loops while the list is in its initial prompt, as Whisper does with a dense prompt."""

    hotwords_loop: bool = False  # loops on the hotwords alone too

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[Iterator[Any], Any]:
        segments, info = super().transcribe(audio, **options)
        loops = options["initial_prompt"] or (self.hotwords_loop and options["hotwords"])
        if loops:
            segments = iter([SimpleNamespace(**vars(s), compression_ratio=3.0) for s in segments])
        return segments, info


@pytest.mark.parametrize("hotwords_loop", [False, True])
def test_a_looping_window_is_decoded_with_less_prompt(hotwords_loop: bool) -> None:
    whisper = _LoopingWhisper("/models/whisper-base", "cpu", hotwords_loop=hotwords_loop)
    models = ModelCache(_resolve, load=lambda *_: whisper, cuda_device_count=lambda: 0)
    events = run(Transcriber(models), np.zeros(SAMPLE_RATE * 10, np.float32), hotwords=["heck"])
    prompts = [(c["hotwords"], c["initial_prompt"], c["clip_timestamps"]) for c in whisper.calls]
    assert all(c["temperature"] == 0.0 for c in whisper.calls)
    assert prompts[:2] == [("heck", "heck", "0"), ("heck", None, [0.5, 1.0])]
    if hotwords_loop:  # still looping: heard with no prompt at all
        assert prompts[2:] == [(None, None, [0.6, 1.1])]
        assert [(w.start, w.end) for w in words_of(events)] == [(0.7, 1.1)]
    else:
        assert prompts[2:] == []
        assert [(w.start, w.end) for w in words_of(events)] == [(0.6, 1.0)]


# -- window seams (pure: segments as faster-whisper yields them) --------------------------


@dataclass
class _Word:
    word: str
    start: float
    end: float
    probability: float = 0.95


@dataclass
class _Window:
    """A faster-whisper segment: seek is its window's start in 10 ms frames."""

    seek: int
    start: float
    end: float
    words: list[_Word]


def _timed(*spec: tuple[str, float, float] | tuple[str, float, float, float]) -> list[_Word]:
    return [_Word(f" {s[0]}", *s[1:]) for s in spec]


def _reseam(
    segments: list[_Window], heard: list[_Word]
) -> tuple[list[tuple[str, float]], list[tuple[float, float]]]:
    asked: list[tuple[float, float]] = []

    def again(start: float, end: float) -> Iterator[Any]:
        asked.append((start, end))
        return iter([_Window(round(start * 100), start, end, heard)])

    out = core_module._reseamed(iter(segments), again, seconds=40.0)
    return [(w.word.strip(), w.start) for s in out for w in s.words], asked


def test_a_word_cut_at_a_window_seam_is_heard_again_across_it() -> None:
    # The first window ends in a fragment of the word across 30 s; the second window hears
    # only its tail, as "and". The seam is heard again as one clip: its words within a second
    # of the seam replace both windows' there, and nothing else moves.
    first = _Window(
        0,
        26.0,
        29.96,
        _timed(
            ("so", 26.0, 28.5), ("I", 29.2, 29.4), ("said,", 29.4, 29.6), ("b", 29.96, 29.96, 0.22)
        ),
    )
    second = _Window(
        2996,
        29.96,
        33.0,
        _timed(("and", 30.08, 30.5, 0.31), ("then", 30.5, 30.7), ("home.", 31.5, 32.0)),
    )
    heard = _timed(
        ("yes,", 28.2, 28.5),
        ("I", 29.2, 29.4),
        ("said,", 29.4, 29.6),
        ("fucking,", 29.9, 30.3),
        ("and", 30.4, 30.5),
        ("then", 30.5, 30.7),
        ("we", 30.8, 31.0),
        ("went", 31.0, 31.2),
    )
    words, asked = _reseam([first, second], heard)
    assert asked == [(pytest.approx(26.96), pytest.approx(32.96))]
    assert words == [
        ("so", 26.0),
        ("I", 29.2),
        ("said,", 29.4),
        ("fucking,", 29.9),
        ("and", 30.4),
        ("then", 30.5),
        ("we", 30.8),
        ("home.", 31.5),
    ]


def test_a_confident_seam_is_not_heard_again() -> None:
    first = _Window(0, 26.0, 29.5, _timed(("quiet", 26.0, 28.5), ("river.", 29.0, 29.5)))
    second = _Window(2950, 29.5, 32.0, _timed(("The", 29.8, 30.0), ("end.", 30.0, 30.4)))
    words, asked = _reseam([first, second], [])
    assert asked == []
    assert [w for w, _ in words] == ["quiet", "river.", "The", "end."]


def test_a_window_whisper_ended_early_makes_no_seam() -> None:
    # The first window's text ends at 21 s, well before its 30 s of audio ran out: the next
    # window starts there and hears the words after it whole, doubtful or not.
    a = _Window(0, 20.0, 21.0, _timed(("one", 20.0, 20.6), ("two", 20.6, 21.0, 0.1)))
    b = _Window(2100, 21.0, 23.0, _timed(("three", 21.1, 21.5, 0.2), ("four", 22.0, 22.4)))
    words, asked = _reseam([a, b], [])
    assert asked == []
    assert [w for w, _ in words] == ["one", "two", "three", "four"]


def test_a_seam_heard_again_as_nothing_drops_only_its_fragments() -> None:
    first = _Window(0, 10.0, 29.9, _timed(("calm", 10.0, 28.0), ("uh", 29.85, 29.9, 0.05)))
    second = _Window(2990, 29.9, 35.0, _timed(("Then", 31.5, 32.0)))
    words, asked = _reseam([first, second], [])
    assert len(asked) == 1
    assert [w for w, _ in words] == ["calm", "Then"]


def test_a_segment_decoded_again_stays_in_its_window_and_makes_no_seam() -> None:
    # A segment decoded again from a clip (an echo, a loop) comes back with the clip's start
    # as its seek; it is marked as of its window, so no seam is seen in mid-window.
    whole = _Window(0, 0.0, 12.0, _timed(("calm", 0.0, 6.0)))
    echo = _Window(0, 6.0, 12.0, _timed(("dick,", 6.0, 7.0), ("ass,", 7.0, 8.0)))
    again = [_Window(600, 6.0, 12.0, _timed(("the", 6.1, 6.3, 0.1), ("end", 6.3, 6.9, 0.2)))]
    redone = list(core_module._in_window(iter(again), echo))
    assert [s.seek for s in redone] == [0]
    words, asked = _reseam([whole, *redone], [])
    assert asked == []
    assert [w for w, _ in words] == ["calm", "the", "end"]


# -- phantoms of the prompt (pure) ---------------------------------------------------------


def _confirm(
    segments: list[_Window], bare: list[_Word]
) -> tuple[list[str], list[tuple[float, float]]]:
    asked: list[tuple[float, float]] = []

    def again(start: float, end: float) -> Iterator[Any]:
        asked.append((start, end))
        return iter([_Window(round(start * 100), start, end, bare)])

    out = core_module._confirmed(iter(segments), {"porn", "fuck"}, again, seconds=40.0)
    return [w.word.strip() for s in out for w in s.words], asked


def test_a_listed_word_heard_only_with_the_prompt_is_dropped() -> None:
    # "porn," in the pause after "turn.", at next to no probability; without the prompt
    # Whisper hears "turn." a little longer, and nothing else, there.
    said = _Window(
        0,
        22.0,
        24.0,
        _timed(("wrong", 22.5, 22.76), ("turn.", 22.76, 23.08), ("porn,", 23.08, 23.18, 0.0)),
    )
    bare = _timed(("wrong", 22.56, 22.76), ("turn.", 22.76, 23.14), ("A", 23.42, 23.5))
    words, asked = _confirm([said], bare)
    assert asked == [(pytest.approx(21.58), pytest.approx(24.68))]
    assert words == ["wrong", "turn."]


def test_a_listed_word_heard_as_another_word_without_the_prompt_is_kept() -> None:
    # A real "fucking" at a probability as low as a phantom's: without the prompt Whisper
    # writes a near-homophone there, so something was said.
    said = _Window(0, 0.0, 2.0, _timed(("fucking,", 0.1, 0.5, 0.004), ("hell", 0.6, 0.9)))
    words, asked = _confirm([said], _timed(("Fogging,", 0.08, 0.48), ("hell", 0.6, 0.9)))
    assert len(asked) == 1
    assert words == ["fucking,", "hell"]


def test_confident_and_unlisted_words_are_not_decoded_again() -> None:
    said = _Window(
        0, 0.0, 2.0, _timed(("fuck", 0.1, 0.4, 0.9), ("uh", 0.5, 0.6, 0.01), ("class", 0.7, 1.0))
    )
    words, asked = _confirm([said], [])
    assert asked == []
    assert words == ["fuck", "uh", "class"]
