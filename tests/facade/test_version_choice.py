"""Clients may name a version: a number or a label (TF Serving's models.config, or labels.json when embedded)."""

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.labels import write_labels
from facade.app import create_app
from tests.conftest import SMALL
from tests.facade.conftest import make_settings, mint
from tests.facade.test_resilience import wait_for

pytestmark = pytest.mark.slow
PRICES = [150.0 + 0.3 * i + (i % 7) for i in range(SMALL.window + 5)]
LABELS = {"stable": 1, "canary": 2}
MODELS_CONFIG = """
model_config_list {
  config {
    name: "aapl"
    base_path: "/models/aapl"
    model_platform: "tensorflow"
    model_version_policy { latest { num_versions: 2 } }
    version_labels { key: "stable" value: 1 }
    version_labels { key: "canary" value: 2 }
  }
}
"""


@pytest.fixture(scope="module", params=["embedded", "tfserving"])
def client(
    request: pytest.FixtureRequest, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("versions")
    extra: dict[str, Any] = {}
    base = tmp / "models"
    shutil.copytree(models_dir, base)
    if request.param == "embedded":
        write_labels(base / "aapl", LABELS)
    else:
        config = tmp / "models.config"
        config.write_text(MODELS_CONFIG)
        extra = {
            "backend": "tfserving",
            "tfserving_address": request.getfixturevalue("grpc_target"),
            "model_config_file": config,
        }
    with TestClient(create_app(make_settings(tmp, base, **extra))) as c:
        yield c


@pytest.fixture(scope="module")
def headers(client: TestClient) -> dict[str, str]:
    return {"x-api-key": mint(client)}


@pytest.mark.parametrize(("asked", "answered"), [(None, 2), (1, 1), (2, 2), ("stable", 1), ("canary", 2)])
def test_the_reply_names_the_version_asked_for(
    client: TestClient, headers: dict[str, str], asked: int | str | None, answered: int
) -> None:
    body: dict[str, Any] = {"prices": PRICES, "steps": 2} | ({} if asked is None else {"version": asked})
    r = client.post("/predict", headers=headers, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == answered


def test_a_csv_upload_may_name_a_version_too(client: TestClient, headers: dict[str, str]) -> None:
    csv = "Date,Close\n" + "".join(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{p}\n" for i, p in enumerate(PRICES))
    for version, answered in (("stable", 1), ("1", 1), ("", 2)):
        r = client.post(
            "/predict_csv", headers=headers, files={"file": ("p.csv", csv.encode())}, data={"version": version}
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == answered


@pytest.mark.parametrize(
    ("version", "status", "message"),
    [
        ("nightly", 404, "has no version label 'nightly' (labels: canary, stable)"),
        (9, 404, "version 9 of model 'aapl' is not available (available: [1, 2])"),
        (0, 422, "version"),
        ("2nd", 422, "version"),
        (True, 422, "version"),
        (1.0, 422, "version"),
    ],
)
def test_unknown_or_malformed_versions_are_refused_clearly(
    client: TestClient, headers: dict[str, str], version: object, status: int, message: str
) -> None:
    r = client.post("/predict", headers=headers, json={"prices": PRICES, "version": version})
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]


def test_models_lists_the_labels(client: TestClient) -> None:
    assert client.get("/models").json()["labels"] == {"aapl": LABELS}


def test_label_moves_in_models_config_reach_the_tfserving_backend_without_a_restart(
    grpc_target: str, models_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "models.config"
    config.write_text(MODELS_CONFIG)
    settings = make_settings(
        tmp_path, tmp_path / "no-models", backend="tfserving", tfserving_address=grpc_target, model_config_file=config
    )
    with TestClient(create_app(settings)) as client:
        headers = {"x-api-key": mint(client)}

        def canary() -> Any:
            return client.post("/predict", headers=headers, json={"prices": PRICES, "version": "canary"}).json()

        assert canary()["version"] == 2
        # Promote: canary back to 1 (an edit TF Serving also picks up at its next config poll).
        config.write_text(MODELS_CONFIG.replace('key: "canary" value: 2', 'key: "canary" value: 1'))
        wait_for(lambda: canary()["version"] == 1)
        config.write_text("model_config_list { config { name: ")  # a broken edit keeps the labels in force
        time.sleep(1.0)
        assert canary()["version"] == 1 and client.get("/ready").status_code == 200
