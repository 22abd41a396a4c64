"""docs/scaling.md's recipes work: its snippets render, validate and run the real CLIs' arguments."""

import os
import re
import shlex
from pathlib import Path

import kubernetes_validate
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from export.cli import build_parser as export_parser
from tests.deploy.k8s import K8S, ROOT, SERVING_CONFIG, Object, container, get, kustomize, mounts, pod_spec
from training.cli import build_parser as training_parser

DOC = (ROOT / "docs" / "scaling.md").read_text()


def blocks(language: str) -> list[str]:
    """The fenced code blocks of the doc whose info string is ``language`` ("" for bare fences)."""
    found: list[str] = []
    current: list[str] | None = None
    info = ""
    for line in DOC.splitlines():
        if line.startswith("```"):
            if current is None:
                current, info = [], line.removeprefix("```").strip()
            else:
                if info == language:
                    found.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return found


def yaml_snippets() -> list[Object]:
    return [yaml.safe_load(b) for b in blocks("yaml")]


def _prod_from(overlay: Path) -> str:
    """The prod overlay as a path relative to ``overlay`` (kustomize refuses absolute resource paths)."""
    return os.path.relpath(K8S / "overlays" / "prod", overlay)


def test_the_publish_job_validates_and_runs_the_real_commands() -> None:
    (job,) = [s for s in yaml_snippets() if s.get("kind") == "Job"]
    kubernetes_validate.validate(job, "1.29", strict=True)
    seed = get("prod", "Job", "stockcast-seed")
    c = pod_spec(job)["containers"][0]
    assert c["image"] == container(seed, "trainer")["image"]
    assert pod_spec(job)["securityContext"]["runAsUser"] == pod_spec(seed)["securityContext"]["runAsUser"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod_spec(job)["volumes"]}
    where = {m["mountPath"]: claims[m["name"]] for m in c["volumeMounts"]}
    seed_mounts = mounts(seed, container(seed, "trainer")).items()
    seed_where = {p: v["persistentVolumeClaim"]["claimName"] for p, v in seed_mounts if "persistentVolumeClaim" in v}
    assert where == seed_where
    (script,) = c["args"]
    train, publish = (shlex.split(part) for part in script.split("&&"))
    assert train[:3] == ["python", "-m", "training"] and publish[:3] == ["python", "-m", "export"]
    trained = training_parser().parse_args(train[3:])
    published = export_parser().parse_args(publish[3:])
    assert published.command == "publish" and published.ticker == trained.ticker
    assert str(trained.runs_dir) == str(published.runs_dir) == "/runs" and str(published.models_dir) == "/models"


def test_the_label_snippets_are_valid_model_configs() -> None:
    snippets = [b for b in blocks("") if "version_labels" in b]
    assert len(snippets) >= 3
    for snippet in snippets:
        body = snippet if "config {" in snippet else f"config {{ name: 'aapl' {snippet} }}"
        config = text_format.Parse(f"model_config_list {{ {body} }}", model_server_config_pb2.ModelServerConfig())
        assert "stable" in config.model_config_list.config[0].version_labels


def test_the_image_snippet_repoints_the_images(tmp_path: Path) -> None:
    (images,) = [s for s in yaml_snippets() if "images" in s]
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({"resources": [_prod_from(overlay)]} | images))
    out = kustomize(overlay)
    assert out.returncode == 0, out.stderr
    used = set(re.findall(r"image: (\S+)", out.stdout))
    registry = "registry.example.com/stockcast"
    assert {f"{registry}/stockcast-facade:0.1.0", f"{registry}/stockcast-trainer:0.1.0"} <= used
    assert not {"stockcast-facade:0.1.0", "stockcast-trainer:0.1.0"} & used


def test_the_bucket_snippet_replaces_models_config_in_place(tmp_path: Path) -> None:
    (generator,) = [s for s in yaml_snippets() if "configMapGenerator" in s]
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    local = (SERVING_CONFIG / "models.config").read_text()
    config = local.replace('base_path: "/models/', 'base_path: "gs://b/models/')
    assert config != local
    (overlay / "models.config").write_text(config)
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({"resources": [_prod_from(overlay)]} | generator))
    out = kustomize(overlay)
    assert out.returncode == 0, out.stderr
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out.stdout) if d}
    assert docs[("ConfigMap", "tfserving-models")]["data"]["models.config"] == config
    assert docs[("ConfigMap", "tfserving-models")]["metadata"]["namespace"] == "stockcast"


def test_the_readme_commands_name_real_paths() -> None:
    for overlay in re.findall(r"deploy/k8s/overlays/(\w+)", DOC + (ROOT / "README.md").read_text()):
        assert (K8S / "overlays" / overlay / "kustomization.yaml").is_file(), overlay
