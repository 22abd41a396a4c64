"""A real Prometheus scrapes a running facade: every dashboard and alert query has data, drift moves.

The facade runs in this process (embedded backend, the session's small models);
TF Serving is stood in for by an exporter that writes TF Serving's own format,
since no TF Serving binary runs here. Set ``MONITORING_PNG`` (and
``MONITORING_TRAFFIC_S``) to keep the rendered dashboard, e.g. for docs/.
"""

import math
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
import yaml

from export.exporter import republish_version
from facade.app import create_app
from loadtest.procs import free_port, wait_http
from monitoring.dashboard import RATE, panels
from monitoring.render import render
from tests.facade.conftest import ADMIN, make_settings
from tests.monitoring.conftest import http
from tests.monitoring.exporters import (
    PROMETHEUS_CONFIG,
    prometheus,
    prometheus_config,
    query,
    tfserving_exporter,
    value,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs Debian's prometheus (.ci/run installs it)"),
]
RULES = PROMETHEUS_CONFIG.parent / "rules" / "stockcast.yml"
THRESHOLD = re.compile(r"\s*(>|<|==|!=|>=|<=)\s*[0-9.e+-]+\s*$")


@pytest.fixture
def facade_url(models_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A facade on a loopback port over a private copy of the models (the test publishes a version)."""
    models = tmp_path / "models"
    shutil.copytree(models_dir, models)
    # The traffic includes a wrong key every round, from one address, and one key sends it all (for minutes with
    # MONITORING_TRAFFIC_S): quotas are not what this test is about.
    settings = make_settings(
        tmp_path,
        models,
        version_refresh_s=0.2,
        rate_limit_auth_failures="100000/minute",
        rate_limit_per_key="1000000/minute",
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/ready", timeout=60)
    yield base, models
    server.should_exit = True
    thread.join(timeout=30)


def alert_queries() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    return [THRESHOLD.sub("", r["expr"].strip()) for g in rules["groups"] for r in g["rules"]]


def publish_copy(models: Path, source: int, version: int) -> None:
    """A roll: version ``source`` published again as ``version``, with the export CLI's own republish."""
    assert republish_version(models / "aapl", models / "aapl" / str(source)).name == str(version)


def wait_for(base: str, expr: str, want: float, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while True:
        result = query(base, expr)
        got = float(result[0]["value"][1]) if result else math.nan
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_dashboard_and_alert_queries_have_data_and_drift_moves(facade_url: tuple[str, Path], tmp_path: Path) -> None:
    base, models = facade_url
    traffic_s = float(os.environ.get("MONITORING_TRAFFIC_S", "0"))
    # Each phase spans several 1 s scrapes: rate() sees a counter grow only between two of its samples, and
    # a phase over within one scrape interval (fast requests) would leave every rate at 0 and every ratio NaN.
    phase_s = max(traffic_s / 2, 4.0)
    status, body = http("POST", f"{base}/generate_api_key", body={"name": "mon"}, headers={"x-admin-token": ADMIN})
    assert status == 201
    key = yaml.safe_load(body)["api_key"]
    auth = {"x-api-key": key}
    inside = [150.0 + 0.5 * math.sin(i / 3) for i in range(40)]  # AAPL 2019-2021 training range: inside
    outside = [900.0 + i for i in range(40)]  # far above any AAPL close so far

    def predict(prices: list[float], n: int, *, steps: int = 3) -> None:
        for _ in range(n):
            assert http("POST", f"{base}/predict", body={"prices": prices, "steps": steps}, headers=auth)[0] == 200

    def background(n: int) -> None:
        for _ in range(n):
            assert http("POST", f"{base}/predict", body={"prices": inside}, headers={"x-api-key": "nope"})[0] == 401
            assert http("POST", f"{base}/predict", body={"prices": [1.0]}, headers=auth)[0] == 422
            assert http("GET", f"{base}/models")[0] == 200

    with (
        tfserving_exporter() as tfs,
        prometheus(prometheus_config(tmp_path, facade=base.removeprefix("http://"), tfserving=tfs), tmp_path) as prom,
    ):
        assert wait_for(prom, "sum(up)", 2) == 2, query(prom, "up")

        # In range: drift stays at zero.
        start = time.monotonic()
        n_inside = 0
        while True:
            predict(inside, 20)
            background(2)
            n_inside += 20
            if time.monotonic() - start >= phase_s:
                break
        assert wait_for(prom, "sum(facade_drift_window_outside_count)", n_inside) == n_inside
        assert value(prom, "sum(facade_drift_out_of_range_requests_total)") == 0
        assert value(prom, "max(facade_model_version_served)") == 2

        # A roll to version 3, then prices the versions never saw.
        publish_copy(models, 2, 3)
        deadline = time.monotonic() + 30
        while 3 not in [v["version"] for v in yaml.safe_load(http("GET", f"{base}/models")[1])["models"]["aapl"]]:
            assert time.monotonic() < deadline, "version 3 never became available"
            time.sleep(0.3)
        sent = 0
        start = time.monotonic()
        while True:
            predict(outside, 15)
            predict(inside, 5)
            background(1)
            sent += 15
            if time.monotonic() - start >= phase_s:
                break
        assert wait_for(prom, 'sum(facade_drift_out_of_range_requests_total{version="3"})', sent) == sent
        assert wait_for(prom, 'max(facade_model_version_served{model="aapl"})', 3) == 3
        far = value(prom, 'histogram_quantile(0.99, sum by (le) (facade_drift_window_outside_bucket{version="3"}))')
        assert far >= 1.0, "prices 900+ lie at least one training range above AAPL's"
        assert (
            value(prom, 'histogram_quantile(0.5, sum by (le) (facade_drift_window_outside_bucket{version="2"}))') == 0
        )
        time.sleep(2)  # a couple more scrapes after the last request

        window = f"{int(time.monotonic() - start + 60)}s"
        empty: list[str] = []
        for panel in panels():
            for q in panel.queries:
                result = query(prom, q.expr.replace(RATE, window))
                if not any(not math.isnan(float(r["value"][1])) for r in result):
                    empty.append(f"{panel.title}: {q.expr}")
        for expr in alert_queries():
            if not query(prom, expr):
                empty.append(f"alert: {expr}")
        assert not empty, "queries without data:\n" + "\n".join(empty)

        png = Path(os.environ.get("MONITORING_PNG") or tmp_path / "dashboard.png")
        # TF Serving's panels would plot the stand-in exporter's made-up numbers: left out of the image.
        with_data = render(prom, png, minutes=max(2.0, traffic_s / 60 + 1), rate="30s", skip_tfserving=True)
        assert png.stat().st_size > 10_000
        assert with_data == len([p for p in panels() if not p.tfserving])
