"""Chronological split, train-only scaling and sliding windows.

Row ``t`` is predicted from rows ``[t - W, t)``. A window belongs to the part
that holds its *target*: training windows have targets (and inputs) inside the
training rows only; validation and test windows may look back into earlier
rows for their inputs, as a forecaster in production would, but the scaler is
fit on the training rows alone, so nothing from the later periods leaks into
training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.preprocessing import MinMaxScaler

from common.prices import PriceDataError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Split:
    """Row boundaries of a chronological split: ``[0, train_end) [train_end, val_end) [val_end, n)``."""

    n: int
    train_end: int
    val_end: int

    @property
    def parts(self) -> dict[str, range]:
        return {
            "train": range(0, self.train_end),
            "val": range(self.train_end, self.val_end),
            "test": range(self.val_end, self.n),
        }


def chronological_split(n: int, *, window: int, val_fraction: float, test_fraction: float) -> Split:
    """Splits ``n`` rows in time order; never shuffles across time.

    Raises:
        PriceDataError: when a part would hold no window.
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise PriceDataError("validation and test fractions must be in (0, 1) and sum below 1")
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    train_end = n - n_val - n_test
    # Training needs at least one full window plus a target; val/test one target each.
    needed = window + 1
    if train_end < needed or n_val < 1 or n_test < 1:
        minimum = int(np.ceil((needed + 2) / (1 - val_fraction - test_fraction)))
        raise PriceDataError(f"{n} rows are too few for a {window}-day window and this split (need about {minimum})")
    return Split(n=n, train_end=train_end, val_end=train_end + n_val)


def fit_scaler(prices: FloatArray, split: Split) -> MinMaxScaler:
    """Fits a MinMaxScaler on the training rows only."""
    scaler = MinMaxScaler()
    scaler.fit(prices[: split.train_end].reshape(-1, 1))
    return scaler


def make_windows(series: FloatArray, targets: range, *, window: int) -> tuple[FloatArray, FloatArray]:
    """Builds ``(X, y)`` with ``X[i] = series[t-W:t]`` and ``y[i] = series[t]`` for ``t`` in ``targets``.

    Returns:
        ``X`` shaped ``[n, W, 1]`` and ``y`` shaped ``[n, 1]``.
    """
    ts = np.arange(max(targets.start, window), targets.stop)
    if ts.size == 0:
        return np.empty((0, window, 1)), np.empty((0, 1))
    views = np.lib.stride_tricks.sliding_window_view(series, window)
    x = views[ts - window][..., np.newaxis]
    y = series[ts][:, np.newaxis]
    return np.ascontiguousarray(x), y


def future_values(series: FloatArray, origins: npt.NDArray[np.int64], *, horizon: int, stop: int) -> FloatArray:
    """``out[i, h-1] = series[origins[i] + h]`` for ``h = 1..horizon``, NaN at or past row ``stop``.

    What a forecast made at each origin would be scored against, limited to one
    period (``stop`` is its end), so calibration never sees a later period.
    """
    idx = origins[:, None] + np.arange(1, horizon + 1)[None, :]
    out = np.full(idx.shape, np.nan)
    ok = idx < min(stop, series.shape[0])
    out[ok] = series[idx[ok]]
    return out
