"""deploy/k8s renders with kustomize, validates against the Kubernetes schemas offline, and holds together."""

import copy
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.k8s import (
    K8S,
    OVERLAYS,
    WORKLOADS,
    Object,
    config_map_names,
    get,
    kustomize,
    objects,
    pod_labels,
    pod_spec,
    render,
)

# The oldest Kubernetes minor still commonly run by managed clusters, and the newest whose schemas
# kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.29", "1.37")

COMMON = {
    ("ConfigMap", "tfserving-models"),
    ("ConfigMap", "stockcast-prometheus-rules"),
    ("ConfigMap", "stockcast-grafana-dashboard"),
    ("Deployment", "tfserving"),
    ("Service", "tfserving-headless"),
    ("HorizontalPodAutoscaler", "tfserving"),
    ("PodDisruptionBudget", "tfserving"),
    ("NetworkPolicy", "tfserving-ingress"),
    ("Deployment", "facade"),
    ("Service", "facade"),
    ("HorizontalPodAutoscaler", "facade"),
    ("PodDisruptionBudget", "facade"),
    ("PersistentVolumeClaim", "stockcast-models"),
    ("PersistentVolumeClaim", "stockcast-runs"),
    ("Job", "stockcast-seed"),
}
EXPECTED = {
    "dev": COMMON
    | {
        ("StatefulSet", "postgres"),
        ("Service", "postgres"),
        ("NetworkPolicy", "postgres-ingress"),
        ("Deployment", "redis"),
        ("Service", "redis"),
        ("NetworkPolicy", "redis-ingress"),
    },
    "prod": COMMON,
}
NAMESPACES = {"dev": "stockcast-dev", "prod": "stockcast"}
# Created by the operator before applying (docs/scaling.md), never committed: name -> keys.
SECRETS = {
    "dev": {"stockcast-facade": {"admin-token"}, "stockcast-postgres": {"password"}},
    "prod": {"stockcast-facade": {"admin-token"}, "stockcast-state": {"keys-url", "rate-limit-storage"}},
}


def _without_hashed_config(overlay: str) -> set[tuple[str, str]]:
    return {(k, re.sub(r"^tfserving-config-[a-z0-9]{10}$", "tfserving-config", n)) for k, n in objects(overlay)}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_exactly_the_expected_objects(overlay: str) -> None:
    assert _without_hashed_config(overlay) == EXPECTED[overlay] | {("ConfigMap", "tfserving-config")}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schemas(overlay: str, version: str) -> None:
    """Strict: unknown fields (a typo in a probe, a misplaced key) fail as well as wrong types."""
    for obj in render(overlay):
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} on {version}: {exc.message} at {list(exc.path)}")


def test_the_schema_check_catches_a_misspelt_field() -> None:
    deployment = copy.deepcopy(get("prod", "Deployment", "facade"))
    probe = pod_spec(deployment)["containers"][0]["readinessProbe"]
    probe["httpGett"] = probe.pop("httpGet")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_the_base_alone_renders_without_a_namespace_or_state_stores() -> None:
    out = kustomize(K8S / "base")
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert all("namespace" not in d["metadata"] for d in docs)
    assert not {d["kind"] for d in docs} & {"StatefulSet", "Secret"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_carries_the_common_labels_and_the_overlay_namespace(overlay: str) -> None:
    for obj in render(overlay):
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "stockcast", obj["metadata"]["name"]
        assert obj["metadata"]["namespace"] == NAMESPACES[overlay], obj["metadata"]["name"]
        if obj["kind"] in WORKLOADS:
            assert pod_labels(obj)["app.kubernetes.io/part-of"] == "stockcast"


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_pick_their_own_pods_and_only_them(overlay: str) -> None:
    found = objects(overlay)
    workloads = {n: o for (k, n), o in found.items() if k in ("Deployment", "StatefulSet")}
    for name, obj in workloads.items():
        selector = obj["spec"]["selector"]["matchLabels"]
        assert _selects(selector, pod_labels(obj)), name
        assert "app.kubernetes.io/version" not in selector, "a selector must not change between releases"
        others = [n for n, o in workloads.items() if n != name and _selects(selector, pod_labels(o))]
        assert not others, (name, others)
    for (kind, name), obj in found.items():
        if kind == "Service":
            targets = [n for n, o in workloads.items() if _selects(obj["spec"]["selector"], pod_labels(o))]
            assert len(targets) == 1, (name, targets)
            ports = {p["name"] for c in pod_spec(workloads[targets[0]])["containers"] for p in c["ports"]}
            assert {p["targetPort"] for p in obj["spec"]["ports"]} <= ports, name
        if kind == "PodDisruptionBudget":
            assert _selects(obj["spec"]["selector"]["matchLabels"], pod_labels(workloads[name])), name
        if kind == "HorizontalPodAutoscaler":
            target = obj["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) in found, name
            # The HPA owns the count: a replicas field would be reset by every `kubectl apply`.
            assert "replicas" not in found[(target["kind"], target["name"])]["spec"], name
            assert obj["spec"]["metrics"][0]["resource"]["name"] == "cpu"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_reference_resolves_or_is_a_documented_secret(overlay: str) -> None:
    found = objects(overlay)
    secrets: dict[str, set[str]] = {}
    for (kind, name), obj in found.items():
        if kind not in WORKLOADS:
            continue
        spec = pod_spec(obj)
        for volume in spec.get("volumes", []):
            for cm in config_map_names(volume):
                assert ("ConfigMap", cm) in found, (name, cm)
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in found
        for c in spec["containers"] + spec.get("initContainers", []):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secrets.setdefault(ref["name"], set()).add(ref["key"])
    assert secrets == SECRETS[overlay]
    scaling = (Path(__file__).resolve().parents[2] / "docs" / "scaling.md").read_text()
    for secret, keys in secrets.items():
        for key in keys:
            assert secret in scaling and f"--from-literal={key}=" in scaling, f"docs/scaling.md: create {secret}"
    kustomization = (K8S / "overlays" / overlay / "kustomization.yaml").read_text()
    assert all(s in kustomization for s in secrets), "the overlay's header lists the Secrets to create"


def _containers(obj: Object) -> list[Object]:
    spec = pod_spec(obj)
    containers: list[Object] = spec["containers"] + spec.get("initContainers", [])
    return containers


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_as_non_root_on_a_read_only_root_with_resources_set(overlay: str) -> None:
    for obj in render(overlay):
        if obj["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        for c in _containers(obj):
            where = f"{obj['metadata']['name']}/{c['name']}"
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][bound]), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned(overlay: str) -> None:
    for obj in render(overlay):
        if obj["kind"] not in WORKLOADS:
            continue
        for c in _containers(obj):
            image = c["image"]
            # PostgreSQL numbers its releases major.minor; every other image here major.minor.patch.
            pattern = r"postgres:\d+\.\d+" if image.startswith("postgres:") else r"[\w./-]+:\d+\.\d+\.\d+"
            assert re.fullmatch(pattern, image), image
            assert c.get("imagePullPolicy", "IfNotPresent") == "IfNotPresent"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_facade_and_labelled_consumers_reach_tf_serving_grpc(overlay: str) -> None:
    found = objects(overlay)
    policy = found[("NetworkPolicy", "tfserving-ingress")]["spec"]
    tfserving = pod_labels(found[("Deployment", "tfserving")])
    facade = pod_labels(found[("Deployment", "facade")])
    assert _selects(policy["podSelector"]["matchLabels"], tfserving)
    assert policy["policyTypes"] == ["Ingress"]
    by_port = {rule["ports"][0]["port"]: rule["from"] for rule in policy["ingress"]}
    assert all(len(rule["ports"]) == 1 for rule in policy["ingress"])
    grpc_peers = by_port[8500]
    assert all(set(peer) == {"podSelector"} for peer in grpc_peers), "same namespace only"
    selectors = [peer["podSelector"]["matchLabels"] for peer in grpc_peers]
    assert any(_selects(s, facade) for s in selectors)
    assert {"stockcast.io/grpc-consumer": "true"} in selectors
    # No other workload of the overlay is admitted (a consumer must be labelled on purpose).
    for (kind, name), obj in found.items():
        if kind in WORKLOADS and name != "facade":
            assert not any(_selects(s, pod_labels(obj)) for s in selectors), name
    # The REST port serves inference too: only Prometheus (metrics) is let in.
    assert [p["podSelector"]["matchLabels"] for p in by_port[8501]] == [{"app.kubernetes.io/name": "prometheus"}]


def test_dev_state_stores_admit_only_the_facade() -> None:
    found = objects("dev")
    facade = pod_labels(found[("Deployment", "facade")])
    for store, workload, port in (("postgres", "StatefulSet", 5432), ("redis", "Deployment", 6379)):
        policy = found[("NetworkPolicy", f"{store}-ingress")]["spec"]
        assert _selects(policy["podSelector"]["matchLabels"], pod_labels(found[(workload, store)]))
        (rule,) = policy["ingress"]
        assert rule["ports"] == [{"port": port, "protocol": "TCP"}]
        (peer,) = rule["from"]
        assert _selects(peer["podSelector"]["matchLabels"], facade)
