from statistics import NormalDist

import numpy as np
import pytest

from training.baselines import ewma_intervals, ewma_variance, unconditional_intervals


def test_unconditional_quantiles_of_training_returns_by_hand() -> None:
    # Training rows 0..5: one-day returns +10%, -10%, +10%, -10%, 0%.
    prices = np.array([100.0, 110.0, 99.0, 108.9, 98.01, 98.01, 500.0, 50.0])
    lower, upper = unconditional_intervals(prices, np.array([5, 6]), train_end=6, horizon=1, levels=[0.8])
    # Sorted returns -0.1, -0.1, 0, 0.1, 0.1; linear quantiles at 0.1 and 0.9: -0.1 and 0.1.
    # Rows 6 and 7 (a jump to 500, then 50) are after the training period and must not count.
    assert lower[:, 0] == pytest.approx([98.01 * 0.9, 500.0 * 0.9])
    assert upper[:, 0] == pytest.approx([98.01 * 1.1, 500.0 * 1.1])


def test_unconditional_multi_day_returns_by_hand() -> None:
    prices = np.array([100.0, 100.0, 120.0, 120.0, 90.0])
    # Two-day returns over the first four rows: +20%, +20%; every quantile is +20%.
    lower, upper = unconditional_intervals(prices, np.array([4]), train_end=4, horizon=2, levels=[0.8, 0.95])
    assert lower[0] == pytest.approx([108.0, 108.0]) and upper[0] == pytest.approx([108.0, 108.0])


def test_ewma_variance_recursion_by_hand() -> None:
    prices = np.exp(np.array([0.0, 0.01, -0.01, 0.02]))  # log returns 0.01, -0.02, 0.03
    v = ewma_variance(prices, decay=0.9)
    assert np.isnan(v[0])
    assert v[1] == pytest.approx(0.01**2)
    assert v[2] == pytest.approx(0.9 * 0.01**2 + 0.1 * 0.02**2)
    assert v[3] == pytest.approx(0.9 * v[2] + 0.1 * 0.03**2)


def test_ewma_interval_is_lognormal_with_sqrt_h_spread() -> None:
    prices = np.exp(np.array([0.0, 0.01, -0.01, 0.02]))
    sigma = np.sqrt(ewma_variance(prices)[3])
    lower, upper = ewma_intervals(prices, np.array([3]), horizon=4, levels=[0.8, 0.95])
    for i, level in enumerate((0.8, 0.95)):
        z = NormalDist().inv_cdf((1 + level) / 2)
        assert lower[0, i] == pytest.approx(prices[3] * np.exp(-z * sigma * 2.0))
        assert upper[0, i] == pytest.approx(prices[3] * np.exp(z * sigma * 2.0))
    # It reads nothing after the origin: a later crash leaves the band unchanged.
    crashed = np.append(prices, 0.01)
    assert ewma_intervals(crashed, np.array([3]), horizon=4, levels=[0.8])[0][0, 0] == pytest.approx(lower[0, 0])


def test_ewma_covers_about_nominal_on_a_gaussian_random_walk() -> None:
    rng = np.random.default_rng(3)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 20_000)))
    origins = np.arange(500, prices.size - 1)
    lower, upper = ewma_intervals(prices, origins, horizon=1, levels=[0.8, 0.95])
    hit = (prices[origins + 1, None] >= lower) & (prices[origins + 1, None] <= upper)
    assert hit.mean(axis=0) == pytest.approx([0.8, 0.95], abs=0.01)
