from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from common.metadata import read_metadata
from facade.app import Entry, create_app
from facade.config import Settings

ADMIN = "test-admin-token-0123456789"


def make_settings(tmp_path: Path, models_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "admin_token": ADMIN,
        "keys_url": f"sqlite:///{tmp_path / 'keys.sqlite3'}",
        "models_dir": models_dir,
        "backend": "embedded",
        "version_refresh_s": 0.2,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="module", params=["embedded", "tfserving"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def client(
    backend_kind: str, models_dir: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[TestClient]:
    extra: dict[str, Any] = {}
    if backend_kind == "tfserving":
        extra = {"backend": "tfserving", "tfserving_address": request.getfixturevalue("grpc_target")}
    settings = make_settings(tmp_path_factory.mktemp("facade"), models_dir, **extra)
    with TestClient(Entry(create_app(settings))) as c:  # what uvicorn serves
        yield c


def mint(client: TestClient, name: str = "tests") -> str:
    r = client.post("/generate_api_key", headers={"x-admin-token": ADMIN}, json={"name": name})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@pytest.fixture(scope="module")
def api_key(client: TestClient) -> str:
    return mint(client)


def expected_answer(models_dir: Path, version: int, prices: list[float], steps: int) -> dict[str, Any]:
    """The reply's ``forecast`` and ``intervals``, computed independently of the facade.

    training.intervals' reference computation, driven by the version's SavedModel (``serving_default``,
    step by step) and its metadata (scaler and interval tables): what training computed for the window.
    """
    import tensorflow as tf

    from common.metadata import Intervals
    from training.intervals import IntervalCalibration, forecast_intervals

    path = models_dir / "aapl" / str(version)
    meta = read_metadata(path)
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    window = meta.scaler.transform(np.asarray(prices[-meta.window :])).astype(np.float32).reshape(1, -1, 1)

    def predict(w: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v.numpy() for k, v in fn(window=tf.constant(w.astype(np.float32))).items()}

    calibration = IntervalCalibration.from_json(meta.intervals.model_dump())
    point, lower, upper = forecast_intervals(predict, window, steps=steps, calibration=calibration)
    return {
        "forecast": meta.scaler.inverse(point[0]),
        "intervals": {
            Intervals.label(level): {
                "lower": meta.scaler.inverse(lower[0, i]),
                "upper": meta.scaler.inverse(upper[0, i]),
            }
            for i, level in enumerate(meta.intervals.levels)
        },
    }


def expected_forecast(models_dir: Path, version: int, prices: list[float], steps: int) -> np.ndarray:
    forecast: np.ndarray = expected_answer(models_dir, version, prices, steps)["forecast"]
    return forecast


def assert_answer(body: dict[str, Any], expected: dict[str, Any], *, rtol: float) -> None:
    """The reply carries the expected forecast and the expected bands for every level."""
    np.testing.assert_allclose(body["forecast"], expected["forecast"], rtol=rtol)
    assert set(body["intervals"]) == set(expected["intervals"])
    for level, band in expected["intervals"].items():
        for side in ("lower", "upper"):
            np.testing.assert_allclose(body["intervals"][level][side], band[side], rtol=rtol)
