"""The dashboard's panels as a PNG, plotted from a Prometheus with matplotlib.

``python -m monitoring.render --prometheus http://127.0.0.1:9090 --out docs/dashboard.png --minutes 10``
runs every query of ``monitoring.dashboard`` over the last minutes (``query_range``)
and draws one chart per panel, so the README can show real data without Grafana.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitoring.dashboard import RATE, Panel, panels

SCALES = {"s": (1000.0, "ms"), "µs": (0.001, "ms"), "bytes": (1 / 2**20, "MiB"), "percentunit": (100.0, "%")}


@dataclass(frozen=True)
class Series:
    label: str
    times: list[float]
    values: list[float]


def query_range(base: str, expr: str, *, start: float, end: float, step: float) -> list[dict[str, Any]]:
    """Prometheus's ``/api/v1/query_range`` result for ``expr``."""
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}", timeout=30) as r:  # noqa: S310 - operator's URL
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def legend(template: str, labels: dict[str, str]) -> str:
    out = template
    for key, value in labels.items():
        out = out.replace("{{" + key + "}}", value)
    while "{{" in out:  # labels the series does not have
        head, _, rest = out.partition("{{")
        out = head + rest.partition("}}")[2]
    return " ".join(out.split()) or "value"


def panel_series(base: str, panel: Panel, *, start: float, end: float, step: float, rate: str) -> list[Series]:
    out: list[Series] = []
    for q in panel.queries:
        for item in query_range(base, q.expr.replace(RATE, rate), start=start, end=end, step=step):
            points = [(float(t), float(v)) for t, v in item["values"] if not math.isnan(float(v))]
            if points:
                out.append(Series(legend(q.legend, item["metric"]), [p[0] for p in points], [p[1] for p in points]))
    return out


def render(base: str, out: Path, *, minutes: float, rate: str = "1m", skip_tfserving: bool = False) -> int:
    """Draws every panel over the last ``minutes``; returns how many panels had data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end = time.time()
    start = end - minutes * 60
    step = max(1.0, minutes * 60 / 240)
    chosen = [p for p in panels() if not (skip_tfserving and p.tfserving)]
    cols = 3
    rows = math.ceil(len(chosen) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.2 * rows), squeeze=False)
    with_data = 0
    for ax, panel in zip(axes.flat, chosen, strict=False):
        factor, unit = SCALES.get(panel.unit, (1.0, "" if panel.unit == "none" else panel.unit))
        series = panel_series(base, panel, start=start, end=end, step=step, rate=rate)
        with_data += bool(series)
        for s in series[:12]:
            ax.plot([(t - start) / 60 for t in s.times], [v * factor for v in s.values], label=s.label, linewidth=1.2)
        ax.set_title(panel.title, fontsize=9)
        ax.set_xlabel("minutes", fontsize=7)
        ax.set_ylabel(unit, fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=6, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    for ax in list(axes.flat)[len(chosen) :]:
        ax.axis("off")
    fig.suptitle(f"stockcast dashboard, rendered from Prometheus ({minutes:g} min, rate window {rate})", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return with_data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus base URL")
    parser.add_argument("--out", type=Path, default=Path("docs/dashboard.png"))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", default="1m", help="rate window standing in for Grafana's $__rate_interval")
    parser.add_argument("--skip-tfserving", action="store_true", help="leave out the TF Serving panels")
    args = parser.parse_args(argv)
    n = render(args.prometheus, args.out, minutes=args.minutes, rate=args.rate, skip_tfserving=args.skip_tfserving)
    print(f"wrote {args.out} ({n} panels with data)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
