"""Trains the default model on every bundled ticker and prints a Markdown table.

``python -m training.report`` regenerates the README's evaluation table.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from common.tf_runtime import import_tensorflow
from training.artifacts import new_run_dir
from training.collect import BUNDLED, load_prices
from training.config import TrainConfig


def table(rows: list[dict[str, Any]]) -> str:
    """Formats run metrics as the README's Markdown table."""
    out = [
        "| Ticker | Test period | MAE | RMSE | MAPE % | MASE | Persistence MAE | RMSE | MAPE % "
        "| MASE h=5 | MASE h=10 | Train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in rows:
        t, h = m["test"], m["horizons"]
        period = " .. ".join(m["data"]["test_range"])
        out.append(
            f"| {m['ticker']} | {period} | {t['mae']:.4g} | {t['rmse']:.4g} | {t['mape']:.3f} | **{t['mase']:.4f}** "
            f"| {t['baseline_mae']:.4g} | {t['baseline_rmse']:.4g} | {t['baseline_mape']:.3f} "
            f"| {h['5']['mase']:.4f} | {h['10']['mase']:.4f} | {m['training']['seconds']:.0f} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.report", description=__doc__)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--tickers", nargs="*", default=list(BUNDLED))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import_tensorflow()
    from training.pipeline import train

    rows = []
    for ticker in args.tickers:
        config = TrainConfig(ticker=ticker)
        series = load_prices(ticker, config.start, config.end)
        rows.append(train(series, config, out_dir=new_run_dir(args.runs_dir, ticker), verbose=0).metrics)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
