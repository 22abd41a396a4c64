"""FACADE_FORECAST_MODE=graph: one call to the in-graph forecast signature gives the loop's answer."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facade.app import create_app
from tests.conftest import SMALL
from tests.facade.conftest import expected_forecast, make_settings, mint

pytestmark = pytest.mark.slow
PRICES = [180.0 + np.sin(i / 3) * 4 for i in range(SMALL.window + 10)]


@pytest.mark.parametrize("kind", ["embedded", "tfserving"])
def test_graph_mode_matches_the_loop(
    kind: str, models_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    extra: dict[str, Any] = {"forecast_mode": "graph"}
    if kind == "tfserving":
        extra |= {"backend": "tfserving", "tfserving_address": request.getfixturevalue("grpc_target")}
    with TestClient(create_app(make_settings(tmp_path, models_dir, **extra))) as client:
        headers = {"x-api-key": mint(client)}
        for steps in (1, 10):
            body = client.post("/predict", headers=headers, json={"prices": PRICES, "steps": steps}).json()
            assert body["signature"] == "forecast" and body["version"] == 2
            np.testing.assert_allclose(body["forecast"], expected_forecast(models_dir, 2, PRICES, steps), rtol=1e-4)
