"""``python -m training.seed``: train and publish each ticker that has no version yet.

The trainer service of ``docker-compose.yml`` and the Kubernetes Job run it
once before TF Serving starts, so a fresh deployment serves every bundled
ticker; a model that already has a version is left alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from common.contract import list_versions
from common.naming import model_name
from common.prices import PriceDataError
from common.tf_runtime import import_tensorflow
from training.artifacts import new_run_dir
from training.cli import DEFAULT_RUNS_DIR, format_summary
from training.collect import BUNDLED, load_prices
from training.config import TrainConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.seed", description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", type=Path, default=Path(os.environ.get("MODELS_DIR", "models")))
    p.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR)
    p.add_argument("--tickers", nargs="+", default=list(BUNDLED))
    p.add_argument("--epochs", type=int, help="override the training default (for quick runs)")
    p.add_argument("--window", type=int, help="override the training default")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import_tensorflow()
    from export.exporter import ExportError, export_run
    from training.pipeline import train

    for ticker in args.tickers:
        name = model_name(ticker)
        if list_versions(args.models_dir / name):
            print(f"{name}: versions {list_versions(args.models_dir / name)} already published; skipped")
            continue
        config = TrainConfig(ticker=ticker)
        if args.epochs:
            config = replace(config, epochs=args.epochs)
        if args.window:
            config = replace(config, window=args.window)
        try:
            series = load_prices(ticker, config.start, config.end)
            run_dir = new_run_dir(args.runs_dir, ticker)
            result = train(series, config, out_dir=run_dir)
            print(format_summary(result.metrics, run_dir))
            print(f"published {export_run(run_dir, args.models_dir)}")
        except (PriceDataError, ExportError) as exc:
            print(f"error: {ticker}: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
