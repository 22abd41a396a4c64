"""deploy/k8s/monitoring: copies in sync with monitoring/, and it renders onto a base with kubectl kustomize."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "deploy" / "k8s" / "monitoring"
BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec: {containers: [{name: NAME, image: "example:1.0.0"}]}
"""


def test_component_files_are_copies_of_the_monitoring_files() -> None:
    pairs = {
        "stockcast.yml": ROOT / "monitoring" / "prometheus" / "rules" / "stockcast.yml",
        "stockcast.json": ROOT / "monitoring" / "grafana" / "dashboards" / "stockcast.json",
    }
    for name, source in pairs.items():
        assert (COMPONENT / "files" / name).read_text() == source.read_text(), f"cp {source} {COMPONENT / 'files'}"


def test_component_renders_annotations_and_config_maps(tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "d.yaml").write_text("---\n".join(BASE.replace("NAME", n) for n in ("facade", "tfserving")))
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [d.yaml]\n")
    shutil.copytree(COMPONENT, tmp_path / "monitoring")
    (tmp_path / "overlay").mkdir()
    (tmp_path / "overlay" / "kustomization.yaml").write_text("resources: [../base]\ncomponents: [../monitoring]\n")
    out = subprocess.run(
        [kubectl, "kustomize", str(tmp_path / "overlay")], capture_output=True, text=True, timeout=120, check=True
    )
    objects = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(out.stdout)}
    flags = dict(
        line.removeprefix("--").split("=", 1)
        for line in (ROOT / "serving_config" / "tfserving.flags").read_text().splitlines()
        if line.startswith("--")
    )
    facade = objects[("Deployment", "facade")]["spec"]["template"]["metadata"]["annotations"]
    assert facade == {"prometheus.io/scrape": "true", "prometheus.io/port": "8000", "prometheus.io/path": "/metrics"}
    tfs = objects[("Deployment", "tfserving")]["spec"]["template"]["metadata"]["annotations"]
    assert tfs["prometheus.io/port"] == flags["rest_api_port"]
    assert tfs["prometheus.io/path"] == "/monitoring/prometheus/metrics"
    rules = objects[("ConfigMap", "stockcast-prometheus-rules")]
    assert yaml.safe_load(rules["data"]["stockcast.yml"])["groups"]
    dashboard = objects[("ConfigMap", "stockcast-grafana-dashboard")]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1" and "stockcast.json" in dashboard["data"]
