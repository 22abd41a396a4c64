"""Drift arithmetic and the per-app metrics, without a server."""

import pytest

from facade import drift
from facade.backends.base import Servable
from facade.metrics import Metrics
from tests.factories import version_metadata


def servable(version: int = 1) -> Servable:
    scaler = {"kind": "MinMaxScaler", "feature_range": [0.0, 1.0], "data_min": 100.0, "data_max": 200.0}
    return Servable("aapl", version, version_metadata(window=3, version=version, scaler=scaler))


@pytest.mark.parametrize(
    ("low", "high", "want"),
    [(120, 180, 0.0), (100, 200, 0.0), (90, 150, 0.1), (150, 250, 0.5), (50, 400, 2.0)],
)
def test_outside_distance_is_in_scaled_units(low: float, high: float, want: float) -> None:
    assert drift.outside_distance(low, high, 100.0, 200.0) == pytest.approx(want)


def test_a_degenerate_range_reports_no_drift() -> None:
    assert drift.outside_distance(1.0, 2.0, 5.0, 5.0) == 0.0


def value(m: Metrics, name: str, **labels: str) -> float:
    got = m.registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


def test_observe_counts_out_of_range_requests_and_forecast_moves() -> None:
    m = Metrics()
    drift.observe(m, servable(), (150.0, 170.0), 170.0, [171.7])
    distance = drift.observe(m, servable(), (190.0, 250.0), 250.0, [250.0])
    assert distance == pytest.approx(0.5)
    assert value(m, "facade_drift_window_outside_count", model="aapl", version="1") == 2
    assert value(m, "facade_drift_window_outside_bucket", model="aapl", version="1", le="0.0") == 1
    assert value(m, "facade_drift_out_of_range_requests_total", model="aapl", version="1") == 1
    # |171.7 - 170| / 170 = 1% -> in the 0.01 bucket; 0 move -> in the first bucket.
    assert value(m, "facade_forecast_move_ratio_bucket", model="aapl", version="1", le="0.001") == 1
    assert value(m, "facade_forecast_move_ratio_bucket", model="aapl", version="1", le="0.01") == 2
    assert value(m, "facade_drift_out_of_range_requests_total", model="aapl", version="2") == 0


def test_each_app_has_its_own_metrics_and_children_are_bound_once() -> None:
    a, b = Metrics(), Metrics()
    a.request("/predict", 200, 0.01)
    a.request("/predict", 200, 0.02)
    assert value(a, "facade_requests_total", endpoint="/predict", status="200") == 2
    assert value(b, "facade_requests_total", endpoint="/predict", status="200") == 0
    assert a.drift("aapl", 1) is a.drift("aapl", 1)
    a.served("aapl", 3)
    assert value(a, "facade_model_version_served", model="aapl") == 3
    text = a.exposition(backend_up=True, key_store_up=True, available={"aapl": 2}).decode()
    assert 'facade_model_versions_available{model="aapl"} 2.0' in text
    assert "facade_backend_up 1.0" in text
    assert "process_resident_memory_bytes" in text
