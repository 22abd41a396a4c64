"""The forecast use case: pin a version, scale with its scaler, run the steps, unscale."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from common.contract import DEFAULT_SIGNATURE, FORECAST_SIGNATURE
from common.metadata import Intervals
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
    # The raw prices the version saw, for drift monitoring.
    window: npt.NDArray[np.float64] | None = field(default=None, repr=False)


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
    raw = np.asarray(prices[-window_len:], dtype=np.float64)
    check_window(raw, offset=len(prices) - window_len)
    scaler = servable.scaler
    t1 = time.perf_counter()
    timings["preprocess"] = (t1 - t0) * 1000
    if mode == "graph":
        signature = FORECAST_SIGNATURE
        arrays = await backend.forecast(
            servable, raw.astype(np.float32)[np.newaxis, :], np.array([steps], dtype=np.int32)
        )
        t2 = time.perf_counter()
        out, lower, upper = arrays.forecast[0], arrays.lower[0], arrays.upper[0]
    else:
        signature = DEFAULT_SIGNATURE
        window = scaler.transform(raw).astype(np.float32).reshape(1, window_len, 1)
        origin_scale: list[F32] = []

        async def step(w: F32) -> F32:
            nxt, scale = await backend.predict_next(servable, w)
            if not origin_scale:  # the intervals scale with the origin window's predicted scale
                origin_scale.append(scale[:, 0])
            return nxt

        values = await recursive_forecast(window, steps=steps, predict=step)
        t2 = time.perf_counter()
        scaled_lower, scaled_upper = servable.metadata.intervals.bounds(values, origin_scale[0])
        out, lower, upper = (scaler.inverse(a[0].astype(np.float64)) for a in (values, scaled_lower, scaled_upper))
    timings["inference"] = (t2 - t1) * 1000
    check_forecast(out, lower, upper, data_range=(scaler.data_min, scaler.data_max))
    bands = {
        Intervals.label(level): (_rounded(lower[i]), _rounded(upper[i]))
        for i, level in enumerate(servable.metadata.intervals.levels)
    }
    timings["postprocess"] = (time.perf_counter() - t2) * 1000
    return ForecastResult(servable, signature, _rounded(out), float(raw[-1]), bands, timings, window=raw)


def _rounded(values: npt.NDArray[np.floating[Any]]) -> list[float]:
    return [round(float(v), 6) for v in values]
