"""Forecast metrics in price units, against the persistence baseline.

``MASE`` here is the model's MAE divided by the MAE of the persistence
forecast ("tomorrow = today") over the same test targets: below 1 the model
beats persistence, above 1 it loses to it. For a horizon ``h`` the baseline is
the flat forecast (the last known price held for ``h`` days).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Predict = Callable[[FloatArray], FloatArray]


def mae(actual: FloatArray, predicted: FloatArray) -> float:
    return float(np.mean(np.abs(actual - predicted)))


def rmse(actual: FloatArray, predicted: FloatArray) -> float:
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def mape(actual: FloatArray, predicted: FloatArray) -> float:
    """Mean absolute percentage error, in percent."""
    return float(np.mean(np.abs((actual - predicted) / actual)) * 100.0)


def point_metrics(actual: FloatArray, predicted: FloatArray, baseline: FloatArray) -> dict[str, float]:
    """MAE, RMSE, MAPE of a forecast and of its baseline, and MASE (ratio of MAEs)."""
    model_mae = mae(actual, predicted)
    base_mae = mae(actual, baseline)
    return {
        "mae": model_mae,
        "rmse": rmse(actual, predicted),
        "mape": mape(actual, predicted),
        "mase": model_mae / base_mae if base_mae > 0 else float("nan"),
        "baseline_mae": base_mae,
        "baseline_rmse": rmse(actual, baseline),
        "baseline_mape": mape(actual, baseline),
    }


def recursive_forecast(windows: FloatArray, *, steps: int, predict: Predict) -> FloatArray:
    """Forecasts ``steps`` values per window by feeding each prediction back.

    Args:
        windows: scaled input windows ``[n, W, 1]``.
        steps: how many days ahead.
        predict: maps scaled windows ``[n, W, 1]`` to next values ``[n, 1]``.

    Returns:
        Scaled forecasts ``[n, steps]``.
    """
    current = windows.copy()
    out = np.empty((windows.shape[0], steps))
    for k in range(steps):
        nxt = np.asarray(predict(current), dtype=np.float64).reshape(-1, 1)
        out[:, k] = nxt[:, 0]
        current = np.concatenate([current[:, 1:, :], nxt[:, :, np.newaxis]], axis=1)
    return out


def horizon_metrics(
    prices: FloatArray,
    origins: npt.NDArray[np.integer[Any]],
    forecasts: FloatArray,
    horizons: Sequence[int],
) -> dict[str, dict[str, float]]:
    """Scores recursive forecasts at each horizon against the flat forecast.

    Args:
        prices: the whole price series (price units).
        origins: for each forecast, the index of its last known price.
        forecasts: forecasts in price units, ``[n, max_horizon]``.
        horizons: horizons to score (1-based days ahead).

    Only origins whose ``h``-th day ahead is inside ``prices`` are scored.
    """
    result: dict[str, dict[str, float]] = {}
    idx = origins.astype(np.int64)
    for h in horizons:
        ok = idx + h < prices.shape[0]
        actual = prices[idx[ok] + h]
        flat = prices[idx[ok]]
        metrics = point_metrics(actual, forecasts[ok, h - 1], flat)
        metrics["n"] = int(ok.sum())
        result[str(h)] = metrics
    return result


def level_key(level: float) -> str:
    """``0.8`` -> ``"80"``: how levels are named in metrics and replies."""
    return f"{level * 100:g}"


def pinball(actual: FloatArray, quantile: FloatArray, tau: float) -> FloatArray:
    """Pinball (quantile) loss of a ``tau``-quantile forecast, elementwise."""
    diff = actual - quantile
    out: FloatArray = np.maximum(tau * diff, (tau - 1.0) * diff)
    return out


def interval_scores(
    actual: FloatArray, lower: FloatArray, upper: FloatArray, levels: Sequence[float]
) -> dict[str, Any]:
    """Coverage, mean width and interval (Winkler) score per level, and the mean pinball loss.

    Args:
        actual: realised values ``[n]``.
        lower: lower bounds ``[n, len(levels)]``, same units.
        upper: upper bounds ``[n, len(levels)]``.
        levels: nominal coverages ``1 - alpha``.

    The Winkler score of a central ``1 - alpha`` interval is
    ``(u - l) + (2 / alpha) * (l - y) * [y < l] + (2 / alpha) * (y - u) * [y > u]``
    (lower is better; it rewards narrow bands and punishes misses). The pinball
    loss is averaged over the ``2 * len(levels)`` quantiles the bounds stand for
    (``alpha / 2`` and ``1 - alpha / 2``).

    Returns:
        ``{"80": {"coverage", "width", "winkler"}, ..., "pinball": float, "n": int}``.
    """
    y = actual[:, None]
    out: dict[str, Any] = {}
    losses = []
    for i, level in enumerate(levels):
        alpha = 1.0 - level
        lo, hi = lower[:, i : i + 1], upper[:, i : i + 1]
        below, above = (y < lo), (y > hi)
        winkler = (hi - lo) + (2.0 / alpha) * ((lo - y) * below + (y - hi) * above)
        out[level_key(level)] = {
            "coverage": float(np.mean(~below & ~above)),
            "width": float(np.mean(hi - lo)),
            "winkler": float(np.mean(winkler)),
        }
        losses += [pinball(y, lo, alpha / 2.0), pinball(y, hi, 1.0 - alpha / 2.0)]
    out["pinball"] = float(np.mean(losses))
    out["n"] = int(actual.shape[0])
    return out
