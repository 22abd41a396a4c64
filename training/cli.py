"""Command line: ``python -m training --ticker AAPL``."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Any

from common.prices import PriceDataError
from common.tf_runtime import import_tensorflow
from training.artifacts import new_run_dir
from training.collect import BUNDLED, load_prices
from training.config import TrainConfig
from training.evaluate import level_key

DEFAULT_RUNS_DIR = Path("runs")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def _units(text: str) -> tuple[int, ...]:
    try:
        units = tuple(int(u) for u in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 64 or 64,32, got {text!r}") from None
    if not units or min(units) < 1:
        raise argparse.ArgumentTypeError("LSTM sizes must be positive")
    return units


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m training",
        description="Train the LSTM on daily Close prices and write a run folder "
        "(modelo_lstm.h5, scaler.pkl, metrics.json, plots).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--ticker", default=d.ticker, help=f"Yahoo symbol; bundled offline: {', '.join(BUNDLED)}")
    p.add_argument("--start", type=_date, default=d.start, help="first date (inclusive)")
    p.add_argument("--end", type=_date, default=d.end, help="last date (inclusive)")
    p.add_argument(
        "--source",
        choices=("auto", "bundled", "yfinance", "csv"),
        default="auto",
        help="auto: the bundled file when the ticker has one, else yfinance (cached in .cache/prices)",
    )
    p.add_argument("--csv", type=Path, help="read prices from this CSV (plain Date,Close or yfinance's to_csv layout)")
    p.add_argument("--window", type=_positive, default=d.window, help="days per input window")
    p.add_argument(
        "--units", type=_units, default=",".join(map(str, d.units)), help="LSTM layer sizes, comma-separated"
    )
    p.add_argument("--epochs", type=_positive, default=d.epochs, help="maximum epochs (early stopping on validation)")
    p.add_argument("--batch-size", type=_positive, default=d.batch_size)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--patience", type=_positive, default=d.patience, help="early-stopping patience in epochs")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction)
    p.add_argument("--test-fraction", type=float, default=d.test_fraction)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, help="parent of run folders")
    p.add_argument("--out", type=Path, help="run folder (default: RUNS_DIR/<model>/<timestamp>)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.end < args.start:
        print(f"error: --end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    config = TrainConfig(
        ticker=args.ticker,
        start=args.start,
        end=args.end,
        window=args.window,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        units=args.units,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        patience=args.patience,
        seed=args.seed,
    )
    out = args.out or new_run_dir(args.runs_dir, args.ticker)
    try:
        series = load_prices(args.ticker, args.start, args.end, source=args.source, csv_path=args.csv)
        import_tensorflow()
        from training.pipeline import train

        result = train(series, config, out_dir=out)
    except PriceDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(result.metrics, result.run_dir))
    return 0


METHOD_NAMES = {"model": "LSTM", "unconditional": "unconditional", "ewma": "EWMA (0.94)"}


def format_summary(metrics: dict[str, Any], run_dir: Path) -> str:
    """A short human summary of a run's evaluation: point accuracy, then the intervals against the baselines."""
    test = metrics["test"]
    lines = [
        f"run folder: {run_dir}",
        f"{metrics['ticker']} test period, 1 day ahead (price units):",
        f"  {'':12}{'MAE':>10}{'RMSE':>10}{'MAPE %':>9}",
        f"  {'LSTM':12}{test['mae']:>10.4f}{test['rmse']:>10.4f}{test['mape']:>9.3f}",
        f"  {'persistence':12}{test['baseline_mae']:>10.4f}{test['baseline_rmse']:>10.4f}{test['baseline_mape']:>9.3f}",
        f"  MASE {test['mase']:.4f} (below 1 beats tomorrow = today)",
        "recursive forecasts against the flat forecast:",
    ]
    for h, m in metrics["horizons"].items():
        lines.append(f"  h={h:>2}: MAE {m['mae']:.4f} vs {m['baseline_mae']:.4f}, MASE {m['mase']:.4f}")
    scores = metrics.get("interval_scores")
    if scores:
        keys = [level_key(lv) for lv in scores["levels"]]
        lines.append(
            "intervals on the test period (price units; interval score and pinball loss: lower is better;"
            f" multipliers calibrated before the test period for h <= {metrics['intervals']['calibrated_horizon']}):"
        )
        header = f"  {'h':>3} {'':14}" + "".join(f"{'cover ' + k:>9}" for k in keys)
        header += "".join(f"{'width ' + k:>10}" for k in keys) + "".join(f"{'score ' + k:>10}" for k in keys)
        lines.append(header + f"{'pinball':>10}")
        for h, by_method in scores["horizons"].items():
            for i, (method, name) in enumerate(METHOD_NAMES.items()):
                m = by_method[method]
                row = f"  {h if i == 0 else '':>3} {name:14}" + "".join(
                    f"{m[k]['coverage'] * 100:>8.1f}%" for k in keys
                )
                row += "".join(f"{m[k]['width']:>10.4g}" for k in keys)
                row += "".join(f"{m[k]['winkler']:>10.4g}" for k in keys)
                lines.append(row + f"{m['pinball']:>10.4g}")
    return "\n".join(lines)
