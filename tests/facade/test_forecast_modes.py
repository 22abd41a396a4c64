"""Both multi-step modes give the version's recursive forecast and intervals: graph (default) and loop."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facade.app import create_app
from tests.conftest import SMALL
from tests.facade.conftest import assert_answer, expected_answer, make_settings, mint

pytestmark = pytest.mark.slow
PRICES = [180.0 + np.sin(i / 3) * 4 for i in range(SMALL.window + 10)]


@pytest.mark.parametrize(
    ("mode", "signature", "rtol"), [("graph", "forecast", 1e-4), ("loop", "serving_default", 1e-5)]
)
@pytest.mark.parametrize("kind", ["embedded", "tfserving"])
def test_modes_match_the_recursive_forecast(
    kind: str, mode: str, signature: str, rtol: float, models_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    extra: dict[str, Any] = {"forecast_mode": mode}
    if kind == "tfserving":
        extra |= {"backend": "tfserving", "tfserving_address": request.getfixturevalue("grpc_target")}
    with TestClient(create_app(make_settings(tmp_path, models_dir, **extra))) as client:
        headers = {"x-api-key": mint(client)}
        for steps in (1, 2, 10):
            body = client.post("/predict", headers=headers, json={"prices": PRICES, "steps": steps}).json()
            # One step is one serving_default call in both modes (the in-graph loop of one step is the same work).
            assert body["signature"] == (signature if steps > 1 else "serving_default")
            assert body["version"] == 2 and len(body["forecast"]) == steps
            # The served intervals equal training's for the same window, on both backends and in both modes.
            assert_answer(body, expected_answer(models_dir, 2, PRICES, steps), rtol=rtol)
