"""Walk-forward backtest: ``python -m training.backtest --ticker AAPL``.

One split's test period is one draw of luck. Here each calendar year of
``--years`` is a fold's test period; the fold trains its own network on the
data before it (the ``--val-days`` trading days just before the test year are
its validation period: early stopping, shrinkage and interval calibration) and
is scored on that year only. Per fold: point MASE, and at horizons 1, 5 and 10
the coverage, width and interval score of the 80% and 95% intervals, with the
unconditional and EWMA baselines on the same days. Across folds: the mean and
spread of each figure, and coverage pooled over every fold's test days. A
fold's scaler, training and calibration only ever receive the rows before its
test year (the array handed to them ends there).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from common.naming import model_name
from common.prices import PriceDataError
from common.tf_runtime import import_tensorflow
from training.backtest_report import METHODS, format_report, markdown_table, plot_coverage
from training.collect import BUNDLED, load_prices
from training.config import TrainConfig
from training.evaluate import level_key
from training.windows import FloatArray, Split

logger = logging.getLogger(__name__)

DEFAULT_YEARS = (2019, 2020, 2021, 2022, 2023, 2024)
# About one trading year of validation before each test year.
DEFAULT_VAL_DAYS = 252
RESULT_FILE = "backtest.json"
PLOT_FILE = "backtest_coverage.png"


@dataclass(frozen=True)
class Fold:
    """A test year and its rows: train ``[0, train_end)``, validate ``[train_end, val_end)``, test ``[val_end, n)``."""

    year: int
    split: Split


def make_folds(dates: list[date], years: tuple[int, ...], *, window: int, val_days: int) -> list[Fold]:
    """One fold per test year, its validation period the ``val_days`` rows just before the year.

    Raises:
        PriceDataError: when a year has no rows or too little history before it.
    """
    folds = []
    for year in years:
        rows = [i for i, d in enumerate(dates) if d.year == year]
        if not rows:
            raise PriceDataError(f"no prices in {year}")
        test_start = rows[0]
        train_end = test_start - val_days
        if train_end < 2 * window + 1:
            raise PriceDataError(f"too little history before {year} for a {window}-day window and {val_days} val days")
        folds.append(Fold(year, Split(n=rows[-1] + 1, train_end=train_end, val_end=test_start)))
    return folds


def run_fold(prices: FloatArray, fold: Fold, config: TrainConfig) -> tuple[dict[str, Any], Any]:
    """Trains one fold on the rows before its test year and scores it on that year.

    Returns:
        The fold's figures and its :class:`training.pipeline.Fitted`.
    """
    from training.pipeline import evaluate_test, fit
    from training.windows import fit_scaler

    split = fold.split
    series = prices[: split.n]
    seen = series[: split.val_end]
    scaler = fit_scaler(seen, split)
    started = time.perf_counter()
    fitted = fit(scaler.transform(seen.reshape(-1, 1))[:, 0], split, config)
    seconds = time.perf_counter() - started
    scaled = scaler.transform(series.reshape(-1, 1))[:, 0]
    metrics, _ = evaluate_test(series, scaled, split, fitted, config, scaler)
    result = {
        "year": fold.year,
        "rows": {"train": split.train_end, "val": split.val_end - split.train_end, "test": split.n - split.val_end},
        "mase": {"1": metrics["test"]["mase"], **{h: m["mase"] for h, m in metrics["horizons"].items() if h != "1"}},
        "intervals": metrics["interval_scores"]["horizons"],
        "epochs": len(fitted.history["loss"]) - 1,
        "seconds": round(seconds, 2),
    }
    return result, fitted


def summarise(folds: list[dict[str, Any]], levels: tuple[float, ...]) -> dict[str, Any]:
    """Mean and standard deviation across folds, and figures pooled over all test days.

    Pooled coverage and interval score weight each fold by its number of scored days.
    """
    out: dict[str, Any] = {"mase": {}, "intervals": {}}
    for h in folds[0]["mase"]:
        values = np.array([f["mase"][h] for f in folds])
        out["mase"][h] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
    for h in folds[0]["intervals"]:
        per_method: dict[str, Any] = {}
        for method in METHODS:
            scores = [f["intervals"][h][method] for f in folds]
            n = np.array([s["n"] for s in scores], dtype=np.float64)
            entry: dict[str, Any] = {}
            for level in levels:
                key = level_key(level)
                for stat in ("coverage", "width", "winkler"):
                    values = np.array([s[key][stat] for s in scores])
                    entry.setdefault(key, {})[stat] = {
                        "pooled": float(np.sum(values * n) / n.sum()),
                        "mean": float(values.mean()),
                        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                    }
            pinball = np.array([s["pinball"] for s in scores])
            entry["pinball"] = {"pooled": float(np.sum(pinball * n) / n.sum())}
            entry["n"] = int(n.sum())
            per_method[method] = entry
        out["intervals"][h] = per_method
    return out


def backtest(ticker: str, years: tuple[int, ...], *, val_days: int, epochs: int | None, out: Path) -> dict[str, Any]:
    """Runs every fold of one ticker, writes ``backtest.json`` and the coverage plot into ``out``.

    Raises:
        PriceDataError: when the ticker's prices cannot make the folds.
    """
    config = TrainConfig(ticker=ticker, end=date(max(years), 12, 31))
    if epochs:
        config = replace(config, epochs=epochs)
    series = load_prices(ticker, config.start, config.end)
    if not series.dates:
        raise PriceDataError(f"{ticker}: the prices have no dates, so no calendar years to test on")
    folds = make_folds(list(series.dates), years, window=config.window, val_days=val_days)
    import_tensorflow()
    prices = np.asarray(series.prices, dtype=np.float64)
    started = time.perf_counter()
    results = [run_fold(prices, fold, config)[0] for fold in folds]
    record: dict[str, Any] = {"ticker": ticker, "config": config.to_json(), "val_days": val_days, "folds": results}
    record["summary"] = summarise(results, config.levels)
    record["seconds"] = round(time.perf_counter() - started, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULT_FILE).write_text(json.dumps(record, indent=2) + "\n")
    plot_coverage(out / PLOT_FILE, ticker, results, record["summary"], config.levels)
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.backtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--ticker", default="AAPL", help=f"Yahoo symbol; bundled offline: {', '.join(BUNDLED)}")
    p.add_argument("--tickers", nargs="+", help="several tickers, then a Markdown summary (overrides --ticker)")
    p.add_argument("--years", type=int, nargs="+", default=list(DEFAULT_YEARS), help="test years, one fold each")
    p.add_argument("--val-days", type=int, default=DEFAULT_VAL_DAYS, help="validation rows before each test year")
    p.add_argument("--epochs", type=int, help="override the training default (for quick runs)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"))
    p.add_argument("--out", type=Path, help="output folder of one ticker (default: RUNS_DIR/<model>/backtest-<time>)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    tickers = args.tickers or [args.ticker]
    records = []
    for ticker in tickers:
        out = args.out if args.out and len(tickers) == 1 else None
        out = out or args.runs_dir / model_name(ticker) / f"backtest-{datetime.now():%Y%m%d-%H%M%S}"
        try:
            record = backtest(ticker, tuple(args.years), val_days=args.val_days, epochs=args.epochs, out=out)
        except PriceDataError as exc:
            print(f"error: {exc}")
            return 2
        records.append(record)
        levels = tuple(record["config"]["levels"])
        print(format_report(ticker, record["folds"], record["summary"], levels))
        folds = len(record["folds"])
        print(f"{folds} folds in {record['seconds']:.0f} s; wrote {out / RESULT_FILE} and {out / PLOT_FILE}")
    if len(records) > 1:
        print("", markdown_table(records), sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
