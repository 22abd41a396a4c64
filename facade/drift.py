"""Model monitoring on the request path: is a version asked about prices it never saw?

Two signals per model and version, both cheap (a min and a max over the window
already in hand, a handful of float operations, label children cached per version):

- ``facade_drift_window_outside``: how far the request's window lies outside the
  version's training range, in scaled units (the MinMax scaler maps the training
  range to [0, 1]; 0.1 means 10% of that range beyond its edge). Its share of
  requests above 0 is ``facade_drift_out_of_range_requests_total`` over the
  histogram's count. Sustained: the market has left the range the version was
  trained on; retrain on recent prices.
- ``facade_forecast_move_ratio``: the first forecast's move relative to the last
  price. Daily closes move about 1-2%; a version that starts forecasting jumps of
  10% is extrapolating (or is fed a different series than it was trained on).
"""

from __future__ import annotations

from collections.abc import Sequence

from facade.backends.base import Servable
from facade.metrics import Metrics


def outside_distance(low: float, high: float, data_min: float, data_max: float) -> float:
    """The largest scaled distance of ``[low, high]`` outside ``[data_min, data_max]`` (0 inside)."""
    span = data_max - data_min
    if span <= 0:
        return 0.0
    return max(0.0, (data_min - low) / span, (high - data_max) / span)


def observe(
    metrics: Metrics, servable: Servable, window_range: tuple[float, float], last: float, forecast: Sequence[float]
) -> float:
    """Records the drift of one request; returns the window's distance outside the training range.

    Args:
        metrics: the app's metrics.
        servable: the version that answered (its metadata holds the training range).
        window_range: the lowest and highest raw prices the version saw (the request's last ``window``).
        last: the last of those prices.
        forecast: the raw forecast, first step first.
    """
    children = metrics.drift(servable.model, servable.version)
    bounds = children.bounds
    if bounds is None:  # a version's metadata never changes: read its range once
        scaler = servable.scaler
        bounds = children.bounds = (scaler.data_min, scaler.data_max)
    distance = outside_distance(*window_range, *bounds)
    children.outside.observe(distance)
    if distance > 0:
        children.out_of_range.inc()
    if forecast and last > 0:
        children.move.observe(abs(forecast[0] - last) / last)
    return distance
