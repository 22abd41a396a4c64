"""Prediction intervals from the network's two outputs, calibrated on the validation period.

For an origin window the network gives ``sigma`` (its ``scale`` output: the
predicted scale of the next one-day change) and, fed back on itself, the point
path ``p_h`` (``h = 1..steps``). The interval at level ``l`` and horizon ``h``
is, in scaled units::

    [p_h + lower[l][h-1] * sigma,  p_h + upper[l][h-1] * sigma]

The multiplier tables come from :func:`calibrate`: split-conformal quantiles of
the normalised validation errors ``(y_{t+h} - p_h) / sigma_t``, one pair per
horizon and level, so how fast the band widens with ``h`` is measured, not
assumed. :func:`forecast_intervals` is the reference computation the served
graph is checked against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from common.contract import INTERVAL_LEVELS, MAX_FORECAST_STEPS, NEXT_OUTPUT, SCALE_OUTPUT
from training.evaluate import FloatArray, recursive_forecast

LEVELS = INTERVAL_LEVELS
# A horizon is calibrated on its own errors while it has at least this many per day of horizon,
# i.e. the errors span at least this many non-overlapping h-day paths.
PATHS_PER_HORIZON = 5
# Exponent range of the power-law extension: widths neither shrink nor grow faster than h.
EXPONENT_RANGE = (0.0, 1.0)

PredictOutputs = Callable[[FloatArray], Mapping[str, Any]]


@dataclass(frozen=True)
class IntervalCalibration:
    """Multipliers of ``sigma`` per level and horizon: ``lower[l][h-1] < upper[l][h-1]``."""

    levels: tuple[float, ...]
    lower: FloatArray  # [len(levels), steps]
    upper: FloatArray  # [len(levels), steps]
    calibrated_horizon: int
    method: str

    @property
    def steps(self) -> int:
        return int(self.lower.shape[1])

    def to_json(self) -> dict[str, Any]:
        """The ``"intervals"`` block of ``metrics.json``."""
        return {
            "levels": list(self.levels),
            "method": self.method,
            "calibrated_horizon": self.calibrated_horizon,
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IntervalCalibration:
        """Reads the ``"intervals"`` block of ``metrics.json``."""
        lower = np.asarray(data["lower"], dtype=np.float64)
        upper = np.asarray(data["upper"], dtype=np.float64)
        levels = tuple(float(v) for v in data["levels"])
        if lower.shape != upper.shape or lower.shape[0] != len(levels) or not np.all(lower < upper):
            raise ValueError("interval tables must be [levels, steps] with lower < upper everywhere")
        return cls(levels, lower, upper, int(data["calibrated_horizon"]), str(data["method"]))


def conformal_multipliers(errors: FloatArray, levels: Sequence[float]) -> tuple[FloatArray, FloatArray]:
    """Split-conformal bounds of one sample of normalised errors, per level.

    With ``n`` errors sorted ascending, the lower bound is the
    ``floor((n + 1) * alpha / 2)``-th and the upper the
    ``ceil((n + 1) * (1 - alpha / 2))``-th (1-based), ``alpha = 1 - level``: for
    a new error exchangeable with the sample, each side is missed with
    probability at most ``alpha / 2``. Where ``n`` is too small for an order
    statistic the sample's extreme is used.

    Returns:
        ``(lower, upper)``, each ``[len(levels)]``.
    """
    e = np.sort(np.asarray(errors, dtype=np.float64))
    n = e.size
    if n == 0:
        raise ValueError("no errors to calibrate on")
    lower, upper = np.empty(len(levels)), np.empty(len(levels))
    for i, level in enumerate(levels):
        alpha = 1.0 - level
        k_lo = math.floor((n + 1) * alpha / 2)
        k_hi = math.ceil((n + 1) * (1 - alpha / 2))
        lower[i] = e[max(k_lo, 1) - 1]
        upper[i] = e[min(k_hi, n) - 1]
    return lower, upper


def forecast_intervals(
    predict: PredictOutputs, windows: FloatArray, *, steps: int, calibration: IntervalCalibration
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Point paths and interval bounds, in scaled units: the reference the served graph must equal.

    Args:
        predict: maps scaled windows ``[n, W, 1]`` to the network's outputs, a mapping with
            ``"next"`` ``[n, 1]`` and ``"scale"`` ``[n, 1]`` (a Keras model's
            ``predict_on_batch`` does).
        windows: scaled origin windows ``[n, W, 1]``.
        steps: days ahead, 1..``calibration.steps``.
        calibration: the run's multiplier tables.

    Returns:
        ``point`` ``[n, steps]`` (``next`` fed back, as :func:`training.evaluate.recursive_forecast`),
        ``lower`` and ``upper`` ``[n, len(levels), steps]``: ``point + multiplier * sigma``,
        with ``sigma`` the ``scale`` output on the origin window.
    """
    if not 1 <= steps <= calibration.steps:
        raise ValueError(f"steps must be in 1..{calibration.steps}, got {steps}")
    point = recursive_forecast(windows, steps=steps, predict=lambda w: np.asarray(predict(w)[NEXT_OUTPUT]))
    sigma = np.asarray(predict(windows)[SCALE_OUTPUT], dtype=np.float64).reshape(-1, 1, 1)
    lower = point[:, None, :] + calibration.lower[None, :, :steps] * sigma
    upper = point[:, None, :] + calibration.upper[None, :, :steps] * sigma
    return point, lower, upper


def normalised_errors(predict: PredictOutputs, windows: FloatArray, future: FloatArray) -> FloatArray:
    """``(y_{t+h} - p_h) / sigma_t`` for origin windows and their realised futures.

    Args:
        predict: as in :func:`forecast_intervals`.
        windows: scaled origin windows ``[n, W, 1]``.
        future: ``future[i, h-1]`` the scaled value ``h`` days after origin ``i``; NaN where unknown.

    Returns:
        ``[n, H]`` errors, NaN where ``future`` is.
    """
    point = recursive_forecast(windows, steps=future.shape[1], predict=lambda w: np.asarray(predict(w)[NEXT_OUTPUT]))
    sigma = np.asarray(predict(windows)[SCALE_OUTPUT], dtype=np.float64).reshape(-1, 1)
    out: FloatArray = (future - point) / sigma
    return out


def calibration_horizon(future: FloatArray) -> int:
    """The largest ``h`` with at least ``PATHS_PER_HORIZON * h`` known values up to it (at least 1)."""
    counts = np.sum(~np.isnan(future), axis=0)
    h = np.arange(1, future.shape[1] + 1)
    ok = counts >= PATHS_PER_HORIZON * h
    return int(h[ok].max()) if ok.any() else 1


def calibrate(
    errors: FloatArray, *, levels: Sequence[float] = LEVELS, steps: int = MAX_FORECAST_STEPS
) -> IntervalCalibration:
    """Multiplier tables from normalised validation errors (:func:`normalised_errors`).

    Horizons ``1..H`` (``H`` from :func:`calibration_horizon`) get their own
    split-conformal bounds; each bound is then made monotone in ``h`` (isotonic
    regression: the band never narrows with the horizon). Beyond ``H`` both
    bounds of a level grow as ``(h / H) ** b``, ``b`` the least-squares slope of
    log width on log ``h`` over the calibrated horizons, clipped to ``[0, 1]``.

    Args:
        errors: ``[n, H_max]`` normalised errors, NaN where the calibration period ends.
        levels: nominal coverages, e.g. ``(0.8, 0.95)``.
        steps: columns of the tables (the longest servable horizon).
    """
    horizon = min(calibration_horizon(errors), steps)
    raw_lo = np.empty((len(levels), horizon))
    raw_hi = np.empty((len(levels), horizon))
    for k in range(horizon):
        column = errors[:, k]
        raw_lo[:, k], raw_hi[:, k] = conformal_multipliers(column[~np.isnan(column)], levels)
    hs = np.arange(1, horizon + 1, dtype=np.float64)
    lower = np.empty((len(levels), steps))
    upper = np.empty((len(levels), steps))
    exponents = []
    for i in range(len(levels)):
        lo = IsotonicRegression(increasing=False).fit_transform(hs, raw_lo[i])
        hi = IsotonicRegression(increasing=True).fit_transform(hs, raw_hi[i])
        # Equal order statistics (a degenerate sample) would give an empty band.
        hi = np.maximum(hi, lo + 1e-6)
        b = _width_exponent(hs, hi - lo)
        exponents.append(b)
        growth = (np.arange(horizon + 1, steps + 1) / horizon) ** b
        # Both bounds times the same positive factor: lower < upper still holds.
        lower[i] = np.concatenate([lo, lo[-1] * growth])
        upper[i] = np.concatenate([hi, hi[-1] * growth])
    method = (
        f"split-conformal quantiles of validation errors (y[t+h] - p_h) / sigma_t per horizon h <= {horizon}, "
        "made monotone in h by isotonic regression, then widened as (h / "
        f"{horizon}) ** b with b = {', '.join(f'{b:.3f}' for b in exponents)} "
        f"(levels {', '.join(str(lv) for lv in levels)}) fitted on the calibrated widths"
    )
    return IntervalCalibration(tuple(levels), lower, upper, horizon, method)


def _width_exponent(hs: FloatArray, widths: FloatArray) -> float:
    if hs.size < 2:
        return 0.5  # one calibrated horizon: no slope to fit; a random walk's
    slope = float(np.polyfit(np.log(hs), np.log(widths), 1)[0])
    return float(np.clip(slope, *EXPONENT_RANGE))
