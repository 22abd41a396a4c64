"""Interval baselines in price units: what a calibrated band must beat.

* **Unconditional**: empirical quantiles of the training period's ``h``-day
  simple returns, applied to the origin price. It knows the typical spread of
  the series but not today's.
* **EWMA** (RiskMetrics): a normal law for the ``h``-day log return with
  standard deviation ``sigma_t * sqrt(h)``, ``sigma_t**2`` the exponentially
  weighted mean of squared daily log returns (``lambda = 0.94``), the standard
  anchor for daily volatility.

Both are centred on the last price (the persistence forecast). Bounds are
``[n, len(levels)]`` arrays, one row per origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.integer[Any]]
RISKMETRICS_DECAY = 0.94


def unconditional_intervals(
    prices: FloatArray, origins: IndexArray, *, train_end: int, horizon: int, levels: Sequence[float]
) -> tuple[FloatArray, FloatArray]:
    """Bands from the quantiles of the training period's ``horizon``-day returns.

    Args:
        prices: the whole series, price units.
        origins: index of each forecast's last known price.
        train_end: rows ``[0, train_end)`` are the training period; only returns inside it are used.
        horizon: days ahead ``h``.
        levels: nominal coverages.

    Returns:
        ``(lower, upper)`` ``[len(origins), len(levels)]``: ``p_t * (1 + q)`` with ``q`` the
        ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (linear interpolation).
    """
    train = prices[:train_end]
    if train.size <= horizon:
        raise ValueError(f"the training period has no {horizon}-day return")
    returns = train[horizon:] / train[:-horizon] - 1.0
    alphas = [(1.0 - lv) / 2.0 for lv in levels]
    q_lo = np.quantile(returns, alphas)
    q_hi = np.quantile(returns, [1.0 - a for a in alphas])
    base = prices[origins][:, None]
    return base * (1.0 + q_lo[None, :]), base * (1.0 + q_hi[None, :])


def ewma_variance(prices: FloatArray, *, decay: float = RISKMETRICS_DECAY) -> FloatArray:
    """RiskMetrics variance of the next daily log return, known at each close.

    ``v[t]`` forecasts ``r[t+1]**2`` with ``r[t] = log(p[t] / p[t-1])``:
    ``v[1] = r[1]**2`` and ``v[t] = decay * v[t-1] + (1 - decay) * r[t]**2``.
    ``v[0]`` is NaN (no return yet).
    """
    r = np.diff(np.log(prices))
    v = np.full(prices.shape[0], np.nan)
    if r.size == 0:
        return v
    v[1] = r[0] ** 2
    for t in range(2, prices.shape[0]):
        v[t] = decay * v[t - 1] + (1.0 - decay) * r[t - 1] ** 2
    return v


def ewma_intervals(
    prices: FloatArray,
    origins: IndexArray,
    *,
    horizon: int,
    levels: Sequence[float],
    decay: float = RISKMETRICS_DECAY,
) -> tuple[FloatArray, FloatArray]:
    """Normal bands on the log return: ``p_t * exp(+-z * sigma_t * sqrt(h))``.

    Args:
        prices: the whole series, price units (only prices up to each origin are used).
        origins: index of each forecast's last known price (at least 1).
        horizon: days ahead ``h``.
        levels: nominal coverages; ``z`` is the normal ``(1 + level) / 2`` quantile.
        decay: the EWMA's ``lambda``.

    Returns:
        ``(lower, upper)`` ``[len(origins), len(levels)]``.
    """
    sigma = np.sqrt(ewma_variance(prices, decay=decay)[origins])[:, None]
    z = np.array([NormalDist().inv_cdf((1.0 + lv) / 2.0) for lv in levels])[None, :]
    spread = z * sigma * np.sqrt(horizon)
    base = prices[origins][:, None]
    return base * np.exp(-spread), base * np.exp(spread)
