"""The interface the export and the servers are built on: the model's outputs and the intervals block."""

import json

import numpy as np
import pytest

from common.contract import MAX_FORECAST_STEPS
from tests.conftest import SMALL
from training import artifacts
from training.intervals import IntervalCalibration, forecast_intervals
from training.pipeline import RunResult, predictor
from training.windows import make_windows

pytestmark = pytest.mark.slow


def test_model_returns_next_and_a_positive_scale(small_run: RunResult) -> None:
    model = artifacts.load_model(small_run.run_dir)
    windows = np.linspace(0.2, 0.3, 4 * SMALL.window, dtype=np.float32).reshape(4, SMALL.window, 1)
    out = model(windows)
    assert set(out) == {"next", "scale"}
    assert tuple(out["next"].shape) == (4, 1) and tuple(out["scale"].shape) == (4, 1)
    assert np.all(np.asarray(out["scale"]) > 0)
    assert model.inputs[0].name == "window"


def test_metrics_intervals_block_is_complete(small_run: RunResult) -> None:
    block = json.loads((small_run.run_dir / "metrics.json").read_text())["intervals"]
    assert block["levels"] == [0.8, 0.95]
    assert isinstance(block["method"], str) and block["method"]
    assert 1 <= block["calibrated_horizon"] <= MAX_FORECAST_STEPS
    lower, upper = np.array(block["lower"]), np.array(block["upper"])
    assert lower.shape == upper.shape == (2, MAX_FORECAST_STEPS)
    assert np.all(lower < upper)
    # The 95% band contains the 80% band, and neither narrows with the horizon.
    assert np.all(lower[1] <= lower[0]) and np.all(upper[1] >= upper[0])
    assert np.all(np.diff(upper - lower, axis=1) >= -1e-12)


def test_reference_intervals_match_a_hand_loop(small_run: RunResult, aapl_small) -> None:  # type: ignore[no-untyped-def]
    model = artifacts.load_model(small_run.run_dir)
    scaler = artifacts.load_scaler(small_run.run_dir)
    calibration = IntervalCalibration.from_json(small_run.metrics["intervals"])
    scaled = scaler.transform(np.asarray(aapl_small.prices).reshape(-1, 1))[:, 0]
    windows, _ = make_windows(scaled, range(len(scaled) - 3, len(scaled)), window=SMALL.window)
    point, lower, upper = forecast_intervals(predictor(model), windows, steps=7, calibration=calibration)
    assert point.shape == (3, 7) and lower.shape == upper.shape == (3, 2, 7)
    for i in range(3):
        window = windows[i : i + 1].astype(np.float32)
        sigma = float(model(window)["scale"][0, 0])
        for h in range(7):
            nxt = float(model(window)["next"][0, 0])
            assert point[i, h] == pytest.approx(nxt, rel=1e-5)
            for level in range(2):
                assert lower[i, level, h] == pytest.approx(nxt + calibration.lower[level, h] * sigma, rel=1e-5)
                assert upper[i, level, h] == pytest.approx(nxt + calibration.upper[level, h] * sigma, rel=1e-5)
            window = np.concatenate([window[:, 1:, :], np.float32([[[nxt]]])], axis=1)
