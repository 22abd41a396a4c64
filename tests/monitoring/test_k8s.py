"""deploy/k8s/monitoring in both overlays: scrape annotations that match the code, and the real files as ConfigMaps."""

import json
import re

import pytest
import yaml

from tests.deploy.k8s import K8S, OVERLAYS, ROOT, SERVING_CONFIG, get, tfserving_flags

COMPONENT = K8S / "monitoring"
FILES = {
    "stockcast-prometheus-rules": ROOT / "monitoring" / "prometheus" / "rules" / "stockcast.yml",
    "stockcast-grafana-dashboard": ROOT / "monitoring" / "grafana" / "dashboards" / "stockcast.json",
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_add_the_component(overlay: str) -> None:
    kustomization = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    assert "../../monitoring" in kustomization["components"]


def test_the_component_reads_the_monitoring_files_themselves() -> None:
    """No copies that could drift: the ConfigMaps are generated from monitoring/ (kustomize's load
    restrictions allow it from a kustomization beside those files, which the Component includes)."""
    assert not (COMPONENT / "files").exists()
    generator = yaml.safe_load((ROOT / "monitoring" / "kustomization.yaml").read_text())["configMapGenerator"]
    sources = {g["name"]: [ROOT / "monitoring" / f for f in g["files"]] for g in generator}
    assert sources == {name: [path] for name, path in FILES.items()}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_maps_hold_the_rules_and_the_dashboard(overlay: str) -> None:
    for name, path in FILES.items():
        cm = get(overlay, "ConfigMap", name)
        assert cm["data"] == {path.name: path.read_text()}
    rules = get(overlay, "ConfigMap", "stockcast-prometheus-rules")
    assert rules["metadata"]["labels"]["prometheus_rule"] == "1"
    assert yaml.safe_load(rules["data"]["stockcast.yml"])["groups"]
    dashboard = get(overlay, "ConfigMap", "stockcast-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["stockcast.json"])["panels"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scrape_annotations_name_the_real_ports_and_paths(overlay: str) -> None:
    facade = get(overlay, "Deployment", "facade")["spec"]["template"]
    port = next(e["value"] for e in facade["spec"]["containers"][0]["env"] if e["name"] == "FACADE_PORT")
    assert facade["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": port,
        "prometheus.io/path": "/metrics",
    }
    tfs = get(overlay, "Deployment", "tfserving")["spec"]["template"]["metadata"]["annotations"]
    metrics_path = re.search(r'path:\s*"([^"]+)"', (SERVING_CONFIG / "monitoring.config").read_text())
    assert metrics_path is not None
    assert tfs == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": tfserving_flags()["rest_api_port"],
        "prometheus.io/path": metrics_path.group(1),
    }
