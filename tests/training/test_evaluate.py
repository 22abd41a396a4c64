import numpy as np
import pytest

from training.evaluate import horizon_metrics, interval_scores, pinball, point_metrics, recursive_forecast


def test_point_metrics_by_hand() -> None:
    actual = np.array([100.0, 102.0, 101.0, 105.0])
    predicted = np.array([101.0, 101.0, 103.0, 104.0])
    baseline = np.array([99.0, 100.0, 102.0, 101.0])  # yesterday's price
    m = point_metrics(actual, predicted, baseline)
    # errors 1, 1, 2, 1 -> MAE 1.25, RMSE sqrt(7/4)
    assert m["mae"] == pytest.approx(1.25)
    assert m["rmse"] == pytest.approx(np.sqrt(7 / 4))
    assert m["mape"] == pytest.approx(100 * np.mean([1 / 100, 1 / 102, 2 / 101, 1 / 105]))
    # baseline errors 1, 2, 1, 4 -> MAE 2.0
    assert m["baseline_mae"] == pytest.approx(2.0)
    assert m["mase"] == pytest.approx(1.25 / 2.0)


def test_persistence_scores_mase_one() -> None:
    actual = np.array([1.0, 2.0, 3.0])
    assert point_metrics(actual, actual - 1, actual - 1)["mase"] == pytest.approx(1.0)


def test_recursive_forecast_feeds_predictions_back() -> None:
    # A "model" that adds 1 to the last value: forecasts count up from the window's end.
    def predict(w: np.ndarray) -> np.ndarray:
        return w[:, -1, :] + 1

    windows = np.array([[[1.0], [2.0], [3.0]], [[10.0], [10.0], [10.0]]])
    out = recursive_forecast(windows, steps=4, predict=predict)
    assert out.tolist() == [[4, 5, 6, 7], [11, 12, 13, 14]]


def test_recursive_forecast_window_slides() -> None:
    # Mean of the window: checks the fed-back value enters and the oldest leaves.
    def predict(w: np.ndarray) -> np.ndarray:
        return w.mean(axis=1)

    out = recursive_forecast(np.array([[[0.0], [3.0]]]), steps=3, predict=predict)
    assert out[0].tolist() == [1.5, 2.25, 1.875]


def test_horizon_metrics_against_flat_forecast() -> None:
    prices = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    origins = np.array([0, 1, 2])
    forecasts = np.array([[11.0, 12.0], [12.0, 13.0], [13.0, 15.0]])
    m = horizon_metrics(prices, origins, forecasts, [1, 2])
    assert m["1"]["mae"] == 0 and m["1"]["baseline_mae"] == 1 and m["1"]["n"] == 3
    # h=2 scores origins 0, 1, 2 (targets 12, 13, 14): errors 0, 0, 1; flat errors 2, 2, 2
    assert m["2"]["mae"] == pytest.approx(1 / 3) and m["2"]["baseline_mae"] == 2


def test_interval_scores_by_hand() -> None:
    actual = np.array([10.0, 12.0, 7.0, 10.0])
    lower = np.array([[9.0], [9.0], [9.0], [9.0]])
    upper = np.array([[11.0], [11.0], [11.0], [11.0]])
    s = interval_scores(actual, lower, upper, [0.8])
    # Two of four inside; width 2; misses by 1 above and 2 below, penalised by 2 / 0.2 = 10.
    assert s["80"]["coverage"] == pytest.approx(0.5)
    assert s["80"]["width"] == pytest.approx(2.0)
    assert s["80"]["winkler"] == pytest.approx((2 + 2 + 10 * 1 + 2 + 10 * 2 + 2) / 4)
    # Pinball at tau 0.1 (lower) and 0.9 (upper), averaged over both quantiles and the four days.
    lo = [0.1 * 1, 0.1 * 3, 0.9 * 2, 0.1 * 1]
    hi = [0.1 * 1, 0.9 * 1, 0.1 * 4, 0.1 * 1]
    assert s["pinball"] == pytest.approx(np.mean(lo + hi))
    assert s["n"] == 4


def test_winkler_is_twice_the_pinball_losses_over_alpha() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    lower, upper = np.full((200, 1), -1.0), np.full((200, 1), 1.5)
    s = interval_scores(y, lower, upper, [0.9])
    both = pinball(y, lower[:, 0], 0.05) + pinball(y, upper[:, 0], 0.95)
    assert s["90"]["winkler"] == pytest.approx(np.mean(both) * 2 / 0.1)
