"""The forecast use case: pin a version, scale with its scaler, run the steps, unscale."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from common.contract import DEFAULT_SIGNATURE, FORECAST_SIGNATURE
from common.metadata import Intervals, ScalerParams
from facade.backends.base import Backend, Servable, VersionRequest
from facade.errors import InvalidInput, VersionGone
from facade.forecasting import F32, recursive_forecast
from facade.validation import check_forecast, check_window


@dataclass
class ForecastResult:
    servable: Servable
    signature: str
    forecast: list[float]
    last_price: float
    # Level label ("80", "95") -> (lower, upper) paths, one value per day ahead.
    intervals: dict[str, tuple[list[float], list[float]]]
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The lowest and highest raw prices the version saw, for drift monitoring.
    window_range: tuple[float, float] = (0.0, 0.0)


async def forecast(
    backend: Backend,
    model: str,
    prices: Sequence[float],
    *,
    steps: int,
    mode: Literal["loop", "graph"],
    version: VersionRequest = None,
) -> ForecastResult:
    """Forecasts ``steps`` closes after ``prices`` with a version of ``model``.

    The version (the newest available, or the one ``version`` names) is pinned
    once, so the scaler, window length and every step come from the same
    version. If it vanishes mid-request (unloaded by a roll, or not loaded yet
    on the TF Serving replica that got the call, after the channel's own
    retries), the request runs once more: on the version then newest, else on
    the previous available one; a request that named its version retries that
    version only. The result names the version that answered.
    """
    servable = await backend.pin(model, version)
    try:
        return await _forecast_pinned(backend, servable, prices, steps=steps, mode=mode)
    except VersionGone:
        await backend.refresh()
        exclude = frozenset({servable.version}) if version is None else frozenset()
        servable = await backend.pin(model, version, exclude=exclude)
        return await _forecast_pinned(backend, servable, prices, steps=steps, mode=mode)


async def _forecast_pinned(
    backend: Backend, servable: Servable, prices: Sequence[float], *, steps: int, mode: Literal["loop", "graph"]
) -> ForecastResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    window_len = servable.window
    if len(prices) < window_len:
        raise InvalidInput(
            f"too short a history: model {servable.model} version {servable.version} needs at least "
            f"{window_len} prices, got {len(prices)}"
        )
    # The prices the model will see, as Python floats (checked in floats) and as an array (scaled in NumPy).
    recent = prices[-window_len:] if isinstance(prices, list) else np.asarray(prices[-window_len:]).tolist()
    window_range = check_window(recent, offset=len(prices) - window_len)
    raw = np.array(recent, dtype=np.float64)
    scaler = servable.scaler
    a, b = scaler.affine
    # serving_default takes scaled windows; the forecast signature takes prices and scales them in the graph.
    # One step is one serving_default call either way: the forecast signature's loop would only add its
    # machinery (about a third more per call, docs/benchmarks.md).
    graph = mode == "graph" and steps > 1
    window = None if graph else (raw * a + b).astype(np.float32).reshape(1, window_len, 1)
    t1 = time.perf_counter()
    timings["preprocess"] = (t1 - t0) * 1000
    if window is None:
        signature = FORECAST_SIGNATURE
        arrays = await backend.forecast(
            servable, raw.astype(np.float32)[np.newaxis, :], np.array([steps], dtype=np.int32)
        )
        t2 = time.perf_counter()
        timings["inference"] = (t2 - t1) * 1000
        # The graph answered in prices: one array for the forecast and every bound, [1 + 2 * levels, steps].
        lines = np.concatenate([arrays.forecast[0][np.newaxis, :], arrays.lower[0], arrays.upper[0]])
        rows = _checked_rows(lines.astype(np.float64), scaler)
    elif steps == 1:
        # The commonest request, in plain floats: the same operations as below, element by element, without the
        # per-call cost of a dozen numpy operations on arrays of one to five values (identical results).
        signature = DEFAULT_SIGNATURE
        nxt, scale = await backend.predict_next(servable, window)
        t2 = time.perf_counter()
        timings["inference"] = (t2 - t1) * 1000
        rows = _one_step_rows(float(nxt[0, 0]), float(scale[0, 0]), servable.metadata.intervals, a, b)
        if not all(math.isfinite(row[0]) for row in rows):
            check_forecast(np.array(rows), data_range=(scaler.data_min, scaler.data_max))
    else:
        signature = DEFAULT_SIGNATURE
        origin_scale: list[F32] = []

        async def step(w: F32) -> F32:
            nxt, scale = await backend.predict_next(servable, w)
            if not origin_scale:  # the intervals scale with the origin window's predicted scale
                origin_scale.append(scale[:, 0])
            return nxt

        values = await recursive_forecast(window, steps=steps, predict=step)
        t2 = time.perf_counter()
        timings["inference"] = (t2 - t1) * 1000
        scaled_lower, scaled_upper = servable.metadata.intervals.bounds(values, origin_scale[0])
        lines = np.concatenate([values[0][np.newaxis, :], scaled_lower[0], scaled_upper[0]]).astype(np.float64)
        rows = _checked_rows((lines - b) / a, scaler)
    labels = servable.metadata.intervals.labels
    n = len(labels)
    bands = {label: (rows[1 + i], rows[1 + n + i]) for i, label in enumerate(labels)}
    timings["postprocess"] = (time.perf_counter() - t2) * 1000
    return ForecastResult(servable, signature, rows[0], float(recent[-1]), bands, timings, window_range)


def _checked_rows(lines: npt.NDArray[np.float64], scaler: ScalerParams) -> list[list[float]]:
    """Price lines, checked for overflow and rounded to 6 decimals, as lists."""
    check_forecast(lines, data_range=(scaler.data_min, scaler.data_max))
    rows: list[list[float]] = np.round(lines, 6).tolist()
    return rows


def _one_step_rows(point: float, sigma: float, intervals: Intervals, a: float, b: float) -> list[list[float]]:
    """:func:`_checked_rows` of one step (unchecked), from the scaled ``next`` and ``scale``: forecast, bounds."""
    scaled = [point, *(point + q[0] * sigma for q in intervals.lower), *(point + q[0] * sigma for q in intervals.upper)]
    prices = [(v - b) / a for v in scaled]
    # round(x * 1e6) / 1e6 is what np.round(x, 6) computes: scale, round half to even, divide back.
    return [[round(x * 1e6) / 1e6 if math.isfinite(x) else math.nan] for x in prices]
