import math

import numpy as np
import pytest

from common.contract import MAX_FORECAST_STEPS
from training.intervals import (
    CALIBRATED_HORIZON,
    PATHS_PER_HORIZON,
    IntervalCalibration,
    calibrate,
    calibration_horizon,
    conformal_multipliers,
    forecast_intervals,
    normalised_errors,
)

LEVELS = (0.8, 0.95)


def test_conformal_order_statistics_by_hand() -> None:
    errors = np.arange(19, 0, -1, dtype=np.float64)  # 1..19, unsorted
    lower, upper = conformal_multipliers(errors, [0.8])
    # n = 19: floor(20 * 0.1) = 2nd smallest, ceil(20 * 0.9) = 18th smallest.
    assert (lower[0], upper[0]) == (2.0, 18.0)


def test_conformal_falls_back_to_the_extremes_on_tiny_samples() -> None:
    lower, upper = conformal_multipliers(np.array([0.5, -1.0, 2.0]), [0.95])
    assert (lower[0], upper[0]) == (-1.0, 2.0)


@pytest.mark.parametrize("n", [200, 1001])
def test_multipliers_reproduce_nominal_coverage_on_their_own_sample(n: int) -> None:
    errors = np.random.default_rng(n).standard_t(4, size=n)
    lower, upper = conformal_multipliers(errors, LEVELS)
    for i, level in enumerate(LEVELS):
        covered = np.mean((errors >= lower[i]) & (errors <= upper[i]))
        # The finite-sample correction errs on the safe side, by at most about two order statistics.
        assert level <= covered <= level + 3 / n


def test_multipliers_hold_coverage_out_of_sample() -> None:
    rng = np.random.default_rng(1)
    lower, upper = conformal_multipliers(rng.laplace(size=2000), LEVELS)
    fresh = rng.laplace(size=100_000)
    for i, level in enumerate(LEVELS):
        assert np.mean((fresh >= lower[i]) & (fresh <= upper[i])) == pytest.approx(level, abs=0.02)


def test_calibration_horizon_rule() -> None:
    future = np.ones((100, 30))
    future[100 - 40 :, 20:] = np.nan  # horizons 21..30 have only 60 known values
    # h needs PATHS_PER_HORIZON * h values: 100 >= 10 h up to h = 10.
    assert calibration_horizon(future) == 100 // PATHS_PER_HORIZON
    assert calibration_horizon(np.full((3, 5), np.nan)) == 1


def random_walk_errors(n: int, horizon: int, seed: int = 0) -> np.ndarray:
    """Normalised errors of a persistence forecast on a unit random walk: sums of h unit steps."""
    steps = np.random.default_rng(seed).normal(size=n + horizon)
    path = np.concatenate([[0.0], np.cumsum(steps)])
    return np.stack([path[np.arange(n) + h] - path[np.arange(n)] for h in range(1, horizon + 1)], axis=1)


def test_calibrate_learns_sqrt_h_widening_from_a_random_walk() -> None:
    errors = random_walk_errors(20_000, CALIBRATED_HORIZON)
    cal = calibrate(errors, levels=LEVELS)
    assert cal.calibrated_horizon == CALIBRATED_HORIZON
    assert cal.lower.shape == cal.upper.shape == (2, MAX_FORECAST_STEPS)
    assert np.all(cal.lower < cal.upper)
    z80, z95 = 1.2816, 1.96
    for h in (1, 4, 16):
        assert cal.upper[0, h - 1] == pytest.approx(z80 * math.sqrt(h), rel=0.06)
        assert cal.upper[1, h - 1] == pytest.approx(z95 * math.sqrt(h), rel=0.06)
    # Beyond the calibrated horizons the fitted power law continues the square root.
    assert cal.upper[0, 99] / cal.upper[0, 24] == pytest.approx(2.0, rel=0.1)
    assert np.all(np.diff(cal.upper - cal.lower, axis=1) >= 0)
    assert "power law" in cal.method or "** b" in cal.method


def test_calibrated_tables_cover_nominal_on_the_calibration_errors() -> None:
    errors = random_walk_errors(3000, CALIBRATED_HORIZON, seed=5)
    cal = calibrate(errors, levels=LEVELS)
    for h in (1, 5, 10):
        e = errors[:, h - 1]
        for i, level in enumerate(LEVELS):
            covered = np.mean((e >= cal.lower[i, h - 1]) & (e <= cal.upper[i, h - 1]))
            # Isotonic smoothing across horizons may move a bound by a little.
            assert covered == pytest.approx(level, abs=0.01)


def test_calibration_json_round_trip_and_validation() -> None:
    cal = calibrate(random_walk_errors(500, 5), levels=LEVELS)
    again = IntervalCalibration.from_json(cal.to_json())
    assert np.array_equal(again.lower, cal.lower) and np.array_equal(again.upper, cal.upper)
    assert again.levels == LEVELS and again.calibrated_horizon == cal.calibrated_horizon
    broken = cal.to_json()
    broken["upper"][0][3] = broken["lower"][0][3]
    with pytest.raises(ValueError, match="lower < upper"):
        IntervalCalibration.from_json(broken)


def toy_predict(windows: np.ndarray) -> dict[str, np.ndarray]:
    """next = last + 0.1; scale = mean absolute value of the window (positive for positive windows)."""
    return {"next": windows[:, -1, :] + 0.1, "scale": np.mean(np.abs(windows), axis=1)}


def test_reference_intervals_match_a_hand_loop() -> None:
    cal = calibrate(random_walk_errors(500, 8), levels=LEVELS)
    windows = np.array([[[1.0], [2.0], [3.0]], [[0.5], [0.5], [0.5]]])
    point, lower, upper = forecast_intervals(toy_predict, windows, steps=6, calibration=cal)
    for i, w in enumerate(windows):
        sigma = np.mean(np.abs(w))  # of the origin window only
        values = list(w[:, 0])
        for h in range(6):
            nxt = values[-1] + 0.1
            values = [*values[1:], nxt]
            assert point[i, h] == pytest.approx(nxt)
            for level in range(2):
                assert lower[i, level, h] == pytest.approx(nxt + cal.lower[level, h] * sigma)
                assert upper[i, level, h] == pytest.approx(nxt + cal.upper[level, h] * sigma)
    with pytest.raises(ValueError, match="steps"):
        forecast_intervals(toy_predict, windows, steps=MAX_FORECAST_STEPS + 1, calibration=cal)


def test_normalised_errors_by_hand() -> None:
    windows = np.array([[[1.0], [3.0]]])  # next = 3.1, 3.2; sigma = 2
    future = np.array([[4.1, np.nan]])
    errors = normalised_errors(toy_predict, windows, future)
    assert errors[0, 0] == pytest.approx((4.1 - 3.1) / 2.0)
    assert np.isnan(errors[0, 1])
