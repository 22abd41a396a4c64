"""Server and exporter agree: SavedModels from a newer TensorFlow than the server's may fail to load
("Op type not registered", "NodeDef mentions attr"), so TF Serving runs the TensorFlow the exporter pins."""

import re

import pytest
import yaml

from tests.deploy.k8s import OVERLAYS, ROOT, WORKLOADS, pod_spec, render

IMAGE = "tensorflow/serving"


def pinned(package: str) -> str:
    """The exact version constraints.txt pins for ``package``."""
    found = re.search(rf"^{re.escape(package)}==([\w.]+)$", (ROOT / "constraints.txt").read_text(), re.M)
    assert found, f"constraints.txt pins no {package}"
    return found.group(1)


def major_minor(version: str) -> str:
    match = re.match(r"(\d+)\.(\d+)\.", version)
    assert match, version
    return f"{match.group(1)}.{match.group(2)}"


TENSORFLOW = major_minor(pinned("tensorflow"))


def test_the_serving_api_client_matches_the_exporter() -> None:
    assert major_minor(pinned("tensorflow-serving-api")) == TENSORFLOW


def test_compose_serves_with_the_exporters_tensorflow() -> None:
    image = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["tfserving"]["image"]
    default = re.fullmatch(rf"{IMAGE}:\$\{{TFSERVING_TAG:-([\d.]+)\}}", image)
    assert default, image
    assert major_minor(default.group(1)) == TENSORFLOW
    # .env.example is what `cp .env.example .env` turns into the tag actually used.
    example = re.search(r"^TFSERVING_TAG=([\d.]+)$", (ROOT / ".env.example").read_text(), re.M)
    assert example and example.group(1) == default.group(1)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_serves_with_the_exporters_tensorflow(overlay: str) -> None:
    tags = {
        c["image"].split(":", 1)[1]
        for obj in render(overlay)
        if obj["kind"] in WORKLOADS
        for c in pod_spec(obj)["containers"] + pod_spec(obj).get("initContainers", [])
        if c["image"].startswith(f"{IMAGE}:")
    }
    assert tags and {major_minor(t) for t in tags} == {TENSORFLOW}, tags
