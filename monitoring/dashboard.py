"""The Grafana dashboard, written as code: ``python -m monitoring.dashboard`` rewrites its JSON.

The committed ``monitoring/grafana/dashboards/stockcast.json`` is what Grafana
provisions at start; a test checks it equals what this module builds, and the
real-Prometheus test runs every query below. ``$__rate_interval`` is Grafana's
rate window (four scrape intervals at least); ``RATE`` substitutes it elsewhere.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASHBOARD_FILE = Path(__file__).parent / "grafana" / "dashboards" / "stockcast.json"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
UID = "stockcast-overview"
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    queries: tuple[Query, ...]
    description: str = ""
    # Only TF Serving exports it (no facade series): checked against a fixture exporter in the tests.
    tfserving: bool = False


def _quantiles(metric: str, by: str, legend: str, selector: str = "") -> tuple[Query, ...]:
    return tuple(
        Query(f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{selector}[{RATE}])))", f"{legend} p{p}")
        for q, p in ((0.5, 50), (0.95, 95), (0.99, 99))
    )


ROWS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    (
        "Traffic",
        (
            Panel(
                "Requests per endpoint and status",
                "reqps",
                (Query(f"sum by (endpoint, status) (rate(facade_requests_total[{RATE}]))", "{{endpoint}} {{status}}"),),
            ),
            Panel(
                "Errors per endpoint and status (4xx, 5xx)",
                "reqps",
                (
                    Query(
                        f'sum by (endpoint, status) (rate(facade_requests_total{{status=~"[45].."}}[{RATE}]))',
                        "{{endpoint}} {{status}}",
                    ),
                    Query(f"sum by (type) (rate(facade_errors_total[{RATE}]))", "{{type}}"),
                ),
                "Client errors (401, 404, 422) and server errors (5xx); the second set names the error class.",
            ),
            Panel(
                "5xx ratio",
                "percentunit",
                (
                    Query(
                        f'(sum(rate(facade_requests_total{{status=~"5.."}}[{RATE}])) '
                        f"or sum(rate(facade_requests_total[{RATE}])) * 0) / sum(rate(facade_requests_total[{RATE}]))",
                        "5xx share",
                    ),
                ),
                "FacadeHighErrorRatio pages above 5% for 5 minutes.",
            ),
        ),
    ),
    (
        "Latency",
        (
            Panel(
                "Latency per endpoint",
                "s",
                _quantiles(
                    "facade_request_seconds", "endpoint", "{{endpoint}}", '{endpoint=~"/predict|/predict_csv|/models"}'
                ),
            ),
            Panel(
                "Latency per stage (parse, preprocess, inference, postprocess)",
                "s",
                _quantiles("facade_stage_seconds", "stage", "{{stage}}"),
            ),
        ),
    ),
    (
        "Models",
        (
            Panel(
                "Version serving each model",
                "none",
                (
                    Query("max by (model) (facade_model_version_served)", "{{model}} served"),
                    Query("max by (model) (facade_model_versions_available)", "{{model}} versions available"),
                ),
                "A step in 'served' is a roll (or a rollback); 0 versions available pages (ModelNoAvailableVersion).",
            ),
            Panel(
                "Backend and key database up (per facade), scrape targets up",
                "none",
                (
                    Query("min by (instance) (facade_backend_up)", "backend from {{instance}}"),
                    Query("min by (instance) (facade_key_store_up)", "key database from {{instance}}"),
                    Query("up", "{{job}} {{instance}}"),
                ),
            ),
        ),
    ),
    (
        "TF Serving",
        (
            Panel(
                "TF Serving request latency",
                "µs",
                _quantiles(":tensorflow:serving:request_latency", "model_name, API", "{{model_name}} {{API}}")[1:],
                "From TF Serving's /monitoring/prometheus/metrics (microseconds).",
                tfserving=True,
            ),
            Panel(
                "TF Serving requests and batch size",
                "none",
                (
                    Query(
                        f"sum by (model_name, status) (rate(:tensorflow:serving:request_count[{RATE}]))",
                        "{{model_name}} {{status}} req/s",
                    ),
                    Query(
                        f"sum(rate(:tensorflow:serving:request_count[{RATE}])) "
                        f"/ sum(rate(:tensorflow:serving:batching_session:wrapped_run_count[{RATE}]))",
                        "mean requests per batch",
                    ),
                ),
                "Batch size = requests / batched runs (TF Serving exports its batch-size percentiles as 0s).",
                tfserving=True,
            ),
            Panel(
                "TF Serving batch queuing latency",
                "µs",
                _quantiles(":tensorflow:serving:batching_session:queuing_latency", "thread_pool_name", "queue")[1:],
                tfserving=True,
            ),
        ),
    ),
    (
        "Processes",
        (
            Panel(
                "CPU per process",
                "percentunit",
                (Query(f"rate(process_cpu_seconds_total[{RATE}])", "{{job}} {{instance}} {{pid}}"),),
                "One line per facade worker (pid) in multiprocess mode; 1 = one core.",
            ),
            Panel(
                "Memory per process (RSS)",
                "bytes",
                (Query("process_resident_memory_bytes", "{{job}} {{instance}} {{pid}}"),),
            ),
            Panel(
                "Open file descriptors per process",
                "none",
                (
                    Query("process_open_fds", "{{job}} {{instance}} {{pid}}"),
                    Query("max(process_max_fds)", "limit"),
                ),
            ),
        ),
    ),
    (
        "Drift",
        (
            Panel(
                "Requests outside the training range (share)",
                "percentunit",
                (
                    Query(
                        f"sum by (model, version) (rate(facade_drift_out_of_range_requests_total[{RATE}])) "
                        f"/ sum by (model, version) (rate(facade_drift_window_outside_count[{RATE}]))",
                        "{{model}} v{{version}}",
                    ),
                ),
                "Above 20% for 30 minutes: the version is asked about prices it never saw; retrain (ModelInputDrift).",
            ),
            Panel(
                "Distance outside the training range (scaled)",
                "none",
                _quantiles("facade_drift_window_outside", "model, version", "{{model}} v{{version}}")[1:],
                "0 inside the range; 0.1 = 10% of the training range beyond its edge.",
            ),
            Panel(
                "First-day forecast move (|forecast - last| / last)",
                "percentunit",
                _quantiles("facade_forecast_move_ratio", "model, version", "{{model}} v{{version}}"),
                "Daily closes move 1-2%; a p95 above 10% means the version extrapolates (ModelLargeForecastMoves).",
            ),
        ),
    ),
)


def panels() -> list[Panel]:
    return [panel for _, row in ROWS for panel in row]


def _panel_json(panel: Panel, panel_id: int, x: int, y: int, width: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [
            {"datasource": DATASOURCE, "expr": q.expr, "legendFormat": q.legend, "refId": chr(ord("A") + i)}
            for i, q in enumerate(panel.queries)
        ],
    }


def build() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    out: list[dict[str, Any]] = []
    y = 0
    panel_id = 1
    for title, row in ROWS:
        grid = {"h": 1, "w": 24, "x": 0, "y": y}
        out.append({"id": panel_id, "type": "row", "title": title, "collapsed": False, "gridPos": grid, "panels": []})
        panel_id += 1
        y += 1
        width = 24 // len(row)
        for i, panel in enumerate(row):
            out.append(_panel_json(panel, panel_id, i * width, y, width))
            panel_id += 1
        y += 8
    return {
        "uid": UID,
        "title": "stockcast",
        "tags": ["stockcast"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": out,
    }


def render_json() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    DASHBOARD_FILE.write_text(render_json())
    print(f"wrote {DASHBOARD_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
