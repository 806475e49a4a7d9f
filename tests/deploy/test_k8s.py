"""The Kubernetes manifests: schema-valid, renderable, and true to the services they deploy.

Every YAML file under deploy/k8s and the rendered base, dev and prod are validated against the
Kubernetes schema (tests/deploy/manifests.py says how, custom kinds included); the rendered
overlays must keep the invariants (non-root, read-only root filesystem, resources, probes, named
ports, disruption budgets, network policies that open only DESIGN.md's paths); the settings
they pass must be ones the services read. The last tests break manifests on purpose to show
that each check notices.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.gateway.settings import GatewaySettings
from tests.deploy.manifests import (
    CHECKS,
    K8S,
    KUBE_VERSIONS,
    NAMESPACE,
    OVERLAYS,
    SERVICES,
    Doc,
    check_scaled_object,
    container_env,
    container_ports,
    env_names,
    load_all,
    manifest_files,
    name_of,
    of_kind,
    one,
    pod_spec,
    render,
    schema_problems,
)


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def docs(overlay: str) -> list[Doc]:
    return render(f"overlays/{overlay}")


@pytest.fixture(scope="module")
def dev() -> list[Doc]:
    return render("overlays/dev")


@pytest.fixture(scope="module")
def prod() -> list[Doc]:
    return render("overlays/prod")


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_file_is_valid(path: Path) -> None:
    docs = load_all(path.read_text())
    assert docs, f"{path} holds no resource"
    problems = [p for doc in docs for v in KUBE_VERSIONS for p in schema_problems(doc, v)]
    assert not problems, "\n".join(problems)


def test_every_folder_renders_and_validates() -> None:
    for folder in ("base", *(f"overlays/{name}" for name in OVERLAYS)):
        docs = render(folder)
        assert docs, folder
        problems = [p for doc in docs for v in KUBE_VERSIONS for p in schema_problems(doc, v)]
        assert not problems, f"{folder}:\n" + "\n".join(problems)


def test_strict_validation_rejects_a_misspelt_field() -> None:
    deployment = copy.deepcopy(one(render("base"), "Deployment", "gateway"))
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    assert schema_problems(deployment, KUBE_VERSIONS[0])
    deployment = copy.deepcopy(one(render("base"), "Deployment", "gateway"))
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "x"
    assert schema_problems(deployment, KUBE_VERSIONS[0])


def test_a_kind_without_schema_or_check_fails() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert schema_problems(doc, KUBE_VERSIONS[0])


def test_kustomizations_list_every_file() -> None:
    """A manifest file that no kustomization names would silently never be deployed."""
    listed: set[Path] = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text())
        for entry in spec.get("resources", []):
            listed.add((kustomization.parent / entry).resolve())
    assert {path.resolve() for path in manifest_files()} <= listed


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_invariant_holds(check: str, docs: list[Doc]) -> None:
    problems = CHECKS[check](docs)
    assert not problems, "\n".join(problems)


def _settings_from(
    settings_class: type[BaseSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> BaseSettings:
    for name in env_names(settings_class):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings_class()


def _service_port(docs: list[Doc], address: str) -> None:
    if address.startswith("dns:///"):
        # gRPC resolves every address behind the name: the Service must be headless.
        address = address.removeprefix("dns:///")
        service = one(docs, "Service", address.rpartition(":")[0])
        assert service["spec"].get("clusterIP") == "None", f"{address}: not a headless Service"
    host, _, port = address.rpartition(":")
    services = {
        name_of(s): {p["port"] for p in s["spec"]["ports"]} for s in of_kind(docs, "Service")
    }
    assert int(port) in services.get(host, set()), f"{address}: no such Service port"


@pytest.mark.parametrize("app", sorted(SERVICES))
def test_settings_are_read_as_the_manifests_mean(
    app: str, overlay: str, docs: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each variable a ConfigMap sets is one the service reads (a misspelt one would be
    ignored silently), and the settings agree with the ports and addresses of the Services."""
    settings_class, port_name, number = SERVICES[app]
    workload = one(docs, "Deployment", app)
    env = container_env(workload, docs)
    known = env_names(settings_class)
    config_map = one(docs, "ConfigMap", f"{app}-settings")
    # Keys only used to build another variable, e.g. the catalog's database URL.
    interpolated = set(re.findall(r"\$\((\w+)\)", yaml.safe_dump(workload)))
    unread = set(config_map["data"]) - known - interpolated
    assert not unread, f"{app}-settings sets variables {app} does not read: {sorted(unread)}"

    if overlay == "prod" and app == "catalog":
        # The example secrets.env holds a placeholder password: the catalog must refuse it.
        with pytest.raises(ValueError, match="placeholder"):
            _settings_from(settings_class, env, monkeypatch)
        docs = render(
            "overlays/prod", "POSTGRES_USER=ct\nPOSTGRES_PASSWORD=4f9d0c\nPOSTGRES_DB=ct\n"
        )
        env = container_env(one(docs, "Deployment", app), docs)
    settings: Any = _settings_from(settings_class, env, monkeypatch)
    assert settings.port == number == container_ports(workload)[port_name]
    for field in ("catalog_address", "transcriber_address"):
        if hasattr(settings, field):
            _service_port(docs, getattr(settings, field))
    if hasattr(settings, "nats_url"):
        url = urlsplit(settings.nats_url)
        _service_port(docs, f"{url.hostname}:{url.port}")
    if app == "catalog":
        url = urlsplit(settings.database_url)
        _service_port(docs, f"{url.hostname}:{url.port}")
        postgres = container_env(one(docs, "StatefulSet", "postgres"), docs)
        assert url.username == postgres["POSTGRES_USER"]
        assert url.password == postgres["POSTGRES_PASSWORD"]
        assert url.path == "/" + postgres["POSTGRES_DB"]


def test_the_migrations_job_runs_the_catalog_migrations(docs: list[Doc]) -> None:
    job = one(docs, "Job", "catalog-migrate")
    catalog = one(docs, "Deployment", "catalog")
    container = pod_spec(job)["containers"][0]
    assert container["command"] == ["python", "-m", "services.catalog.migrate"]
    assert container["image"] == pod_spec(catalog)["containers"][0]["image"]
    database_url = container_env(catalog, docs)["CATALOG_DATABASE_URL"]
    assert container_env(job, docs)["CATALOG_DATABASE_URL"] == database_url


def test_nats_is_a_jetstream_cluster_of_three_or_more_nodes(docs: list[Doc]) -> None:
    nats = one(docs, "StatefulSet", "nats")
    replicas = nats["spec"]["replicas"]
    # A JetStream quorum: 3 nodes survive the loss of one.
    assert replicas >= 3 and replicas % 2 == 1
    headless = one(docs, "Service", nats["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    config = one(docs, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert re.search(r"^\s*jetstream\s*\{", config, re.MULTILINE)
    routes = re.findall(r"nats://([\w.-]+):6222", config)
    assert routes == [f"nats-{i}.{name_of(headless)}" for i in range(replicas)]
    assert nats["spec"]["volumeClaimTemplates"], "JetStream needs persistent storage"


# ---- the overlays -------------------------------------------------------------------------


def test_dev_runs_one_replica_of_each_service_on_cpu(dev: list[Doc]) -> None:
    for deployment in of_kind(dev, "Deployment"):
        assert deployment["spec"]["replicas"] == 1, name_of(deployment)
    assert not of_kind(dev, "HorizontalPodAutoscaler", "ScaledObject")
    assert "nvidia.com/gpu" not in yaml.safe_dump_all(dev)
    assert one(dev, "ConfigMap", "transcriber-settings")["data"]["TRANSCRIBER_DEVICE"] == "cpu"


def test_prod_scales_the_gateway_with_an_hpa(prod: list[Doc]) -> None:
    hpa = one(prod, "HorizontalPodAutoscaler", "gateway")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "gateway")
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    gateway = one(prod, "Deployment", "gateway")
    # Utilization is a share of the CPU request: without one the HPA cannot work.
    assert pod_spec(gateway)["containers"][0]["resources"]["requests"]["cpu"]


def test_prod_runs_the_transcriber_on_a_gpu(prod: list[Doc]) -> None:
    transcriber = pod_spec(one(prod, "Deployment", "transcriber"))["containers"][0]
    for part in ("requests", "limits"):
        assert transcriber["resources"][part]["nvidia.com/gpu"] == "1"
    assert transcriber["image"].rpartition(":")[0].endswith("/transcriber-cuda")
    assert one(prod, "ConfigMap", "transcriber-settings")["data"]["TRANSCRIBER_DEVICE"] == "cuda"


def test_prod_scales_workers_and_transcribers_on_consumer_lag(prod: list[Doc]) -> None:
    scaled = {name_of(d): d for d in of_kind(prod, "ScaledObject")}
    assert set(scaled) == {"censor", "transcriber"}
    nats_ports = {p["name"]: p["port"] for p in one(prod, "Service", "nats")["spec"]["ports"]}
    for name, doc in scaled.items():
        assert not check_scaled_object(doc)
        assert doc["metadata"]["namespace"] == NAMESPACE
        assert doc["spec"]["scaleTargetRef"]["name"] == name
        one(prod, "Deployment", name)
        for trigger in doc["spec"]["triggers"]:
            endpoint = trigger["metadata"]["natsServerMonitoringEndpoint"]
            assert endpoint == f"nats.{NAMESPACE}.svc.cluster.local:{nats_ports['monitor']}"


def test_prod_turns_on_the_rate_limits_behind_the_ingress(
    dev: list[Doc], prod: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = container_env(one(prod, "Deployment", "gateway"), prod)
    settings: Any = _settings_from(GatewaySettings, env, monkeypatch)
    assert settings.rate_limit_enabled is True
    assert settings.forwarded_allow_ips == "*"  # the ingress's X-Forwarded-For names the client
    dev_env = container_env(one(dev, "Deployment", "gateway"), dev)
    assert _settings_from(GatewaySettings, dev_env, monkeypatch).rate_limit_enabled is False


def test_prod_secrets_come_from_the_operators_file() -> None:
    text = "POSTGRES_USER=u\nPOSTGRES_PASSWORD=s3cr3t-from-the-operator\nPOSTGRES_DB=d\n"
    secret = of_kind(render("overlays/prod", text), "Secret")
    assert len(secret) == 1
    data = {k: base64.b64decode(v).decode() for k, v in secret[0]["data"].items()}
    assert data["POSTGRES_PASSWORD"] == "s3cr3t-from-the-operator"
    assert (K8S / "overlays" / "prod" / ".gitignore").read_text().split() == ["secrets.env"]


# ---- the checks can fail ---------------------------------------------------------------------


def _container_of(docs: list[Doc], kind: str, name: str) -> Doc:
    return pod_spec(one(docs, kind, name))["containers"][0]


def _drop_read_only(docs: list[Doc]) -> None:
    del _container_of(docs, "Deployment", "gateway")["securityContext"]["readOnlyRootFilesystem"]


def _run_as_root(docs: list[Doc]) -> None:
    pod_spec(one(docs, "Deployment", "catalog"))["securityContext"]["runAsUser"] = 0


def _no_tmp(docs: list[Doc]) -> None:
    _container_of(docs, "Deployment", "censor")["volumeMounts"] = []


def _no_limits(docs: list[Doc]) -> None:
    del _container_of(docs, "Deployment", "censor")["resources"]["limits"]


def _http_readiness_on_grpc(docs: list[Doc]) -> None:
    container = _container_of(docs, "Deployment", "transcriber")
    container["readinessProbe"] = {"tcpSocket": {"port": "grpc"}}


def _unnamed_port(docs: list[Doc]) -> None:
    del one(docs, "Service", "gateway")["spec"]["ports"][0]["name"]


def _no_pdb(docs: list[Doc]) -> None:
    docs.remove(one(docs, "PodDisruptionBudget", "censor"))


def _missing_secret(docs: list[Doc]) -> None:
    docs.remove(of_kind(docs, "Secret")[0])


def _latest_image(docs: list[Doc]) -> None:
    _container_of(docs, "Deployment", "gateway")["image"] = "clean-tracks/gateway:latest"


def _gateway_to_postgres(docs: list[Doc]) -> None:
    to_postgres = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "postgres"}}}
    one(docs, "NetworkPolicy", "gateway")["spec"]["egress"].append({"to": [to_postgres]})
    from_gateway = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}
    one(docs, "NetworkPolicy", "postgres")["spec"]["ingress"][0]["from"].append(from_gateway)


def _no_transcriber_policy(docs: list[Doc]) -> None:
    docs.remove(one(docs, "NetworkPolicy", "transcriber"))


@pytest.mark.parametrize(
    ("check", "breakage"),
    [
        ("security", _drop_read_only),
        ("security", _run_as_root),
        ("writable_tmp", _no_tmp),
        ("resources", _no_limits),
        ("probes", _http_readiness_on_grpc),
        ("services", _unnamed_port),
        ("disruption_budgets", _no_pdb),
        ("references", _missing_secret),
        ("images", _latest_image),
        ("network_policies", _gateway_to_postgres),
        ("network_policies", _no_transcriber_policy),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_each_check_notices_a_broken_manifest(
    check: str, breakage: Callable[[list[Doc]], None], dev: list[Doc]
) -> None:
    broken = copy.deepcopy(dev)
    breakage(broken)
    assert CHECKS[check](broken), f"check {check} did not notice {breakage.__name__}"


def test_scaled_object_check_notices_a_wrong_queue(prod: list[Doc]) -> None:
    doc = copy.deepcopy(one(prod, "ScaledObject", "censor"))
    doc["spec"]["triggers"][0]["metadata"]["consumer"] = "someone-else"
    doc["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 2
    problems = check_scaled_object(doc)
    assert any("consumer" in p or "someone-else" in p for p in problems)
    assert any("strings" in p for p in problems)
