"""Trains the default model on every bundled ticker and prints the README's Markdown tables.

``python -m training.report`` regenerates the point and interval tables;
``--ablation`` also trains the same heads on no LSTM features (``linear``: the
standardised window itself; ``none``: constants) and prints what the LSTM adds.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from common.tf_runtime import import_tensorflow
from training.artifacts import new_run_dir
from training.collect import BUNDLED, load_prices
from training.config import Features, TrainConfig
from training.evaluate import level_key

METHODS = {"model": "LSTM", "unconditional": "unconditional", "ewma": "EWMA"}
FEATURES: dict[Features, str] = {"lstm": "LSTM", "linear": "linear (no LSTM)", "none": "constant (no features)"}


def table(rows: list[dict[str, Any]]) -> str:
    """Point accuracy: the model and persistence on the test period."""
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


def score_ratio(scores: dict[str, Any], base: str, method: str = "model") -> float:
    """Interval score of ``method`` over ``base``'s, averaged over the levels (below 1: better)."""
    keys = [k for k in scores[method] if k not in ("pinball", "n")]
    return float(np.mean([scores[method][k]["winkler"] / scores[base][k]["winkler"] for k in keys]))


def interval_table(rows: list[dict[str, Any]]) -> str:
    """Intervals on the test period at each horizon: the model and both baselines, price units."""
    levels = rows[0]["interval_scores"]["levels"]
    keys = [level_key(lv) for lv in levels]
    head = "| Ticker | h | Method | " + " | ".join(f"Cover {k}%" for k in keys) + " | "
    head += " | ".join(f"Width {k}%" for k in keys) + " | " + " | ".join(f"Score {k}%" for k in keys)
    head += " | Pinball | Score / uncond. | Score / EWMA |"
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for m in rows:
        for h, by_method in m["interval_scores"]["horizons"].items():
            for method, name in METHODS.items():
                s = by_method[method]
                cells = [f"{s[k]['coverage'] * 100:.1f}" for k in keys] + [f"{s[k]['width']:.4g}" for k in keys]
                cells += [f"{s[k]['winkler']:.4g}" for k in keys] + [f"{s['pinball']:.4g}"]
                cells += [f"{score_ratio(by_method, 'unconditional', method):.3f}"]
                cells += [f"{score_ratio(by_method, 'ewma', method):.3f}"]
                bold = "**" if method == "model" else ""
                out.append(f"| {m['ticker']} | {h} | {bold}{name}{bold} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def skill_summary(rows: list[dict[str, Any]]) -> str:
    """The interval score at each horizon relative to each baseline, averaged over the tickers."""
    lines = []
    for h in rows[0]["interval_scores"]["horizons"]:
        ratios = {
            b: [score_ratio(m["interval_scores"]["horizons"][h], b) for m in rows] for b in ("unconditional", "ewma")
        }
        lines.append(
            f"h={h}: interval score {np.mean(ratios['unconditional']):.3f} x the unconditional baseline's, "
            f"{np.mean(ratios['ewma']):.3f} x EWMA's (mean over {len(rows)} tickers and both levels)"
        )
    return "\n".join(lines)


def ablation_table(runs: dict[Features, list[dict[str, Any]]]) -> str:
    """The same heads on different features: point MASE and one-day intervals."""
    out = [
        "| Ticker | Features | MASE h=1 | MASE h=10 | Cover 80% | Cover 95% | Score 80% | Score 95% "
        "| Score / EWMA h=1 | Score / EWMA h=10 | Train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    tickers = [m["ticker"] for m in next(iter(runs.values()))]
    for i, ticker in enumerate(tickers):
        for features, rows in runs.items():
            m = rows[i]
            h1, h10 = m["interval_scores"]["horizons"]["1"], m["interval_scores"]["horizons"]["10"]
            s = h1["model"]
            out.append(
                f"| {ticker} | {FEATURES[features]} | {m['test']['mase']:.4f} | {m['horizons']['10']['mase']:.4f} "
                f"| {s['80']['coverage'] * 100:.1f} | {s['95']['coverage'] * 100:.1f} "
                f"| {s['80']['winkler']:.4g} | {s['95']['winkler']:.4g} "
                f"| {score_ratio(h1, 'ewma'):.3f} | {score_ratio(h10, 'ewma'):.3f} | {m['training']['seconds']:.0f} |"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--tickers", nargs="*", default=list(BUNDLED))
    parser.add_argument("--ablation", action="store_true", help="also train the heads without LSTM features")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import_tensorflow()
    from training.pipeline import train

    runs: dict[Features, list[dict[str, Any]]] = {}
    chosen: tuple[Features, ...] = tuple(FEATURES) if args.ablation else ("lstm",)
    for features in chosen:
        for ticker in args.tickers:
            config = replace(TrainConfig(ticker=ticker), features=features)
            series = load_prices(ticker, config.start, config.end)
            run_dir = new_run_dir(args.runs_dir, ticker if features == "lstm" else f"{ticker}-{features}")
            runs.setdefault(features, []).append(train(series, config, out_dir=run_dir, verbose=0).metrics)
    rows = runs["lstm"]
    print(table(rows), "", interval_table(rows), "", skill_summary(rows), sep="\n")
    if args.ablation:
        print("", ablation_table(runs), sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
