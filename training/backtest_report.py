"""What ``python -m training.backtest`` prints and draws: per-fold tables, the coverage plot, a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from training.evaluate import level_key

METHODS = ("model", "unconditional", "ewma")


def format_report(ticker: str, folds: list[dict[str, Any]], summary: dict[str, Any], levels: tuple[float, ...]) -> str:
    """A plain-text table: one line per fold, then mean +- std and pooled figures."""
    keys = [level_key(lv) for lv in levels]
    head = f"{'fold':>6} {'train':>6} {'MASE':>7}"
    for h in ("1", "5", "10"):
        head += "".join(f" {'c' + k + ' h' + h:>9}" for k in keys)
    head += f" {'IS/uncond':>10} {'IS/EWMA':>8}"
    lines = [f"{ticker} walk-forward backtest (interval score ratios at h=1, mean over levels)", head]

    def ratios(scores: dict[str, Any]) -> tuple[float, float]:
        def ratio(base: str) -> float:
            return float(np.mean([scores["model"][k]["winkler"] / scores[base][k]["winkler"] for k in keys]))

        return ratio("unconditional"), ratio("ewma")

    for f in folds:
        line = f"{f['year']:>6} {f['rows']['train']:>6} {f['mase']['1']:>7.4f}"
        for h in ("1", "5", "10"):
            line += "".join(f" {f['intervals'][h]['model'][k]['coverage'] * 100:>9.1f}" for k in keys)
        r_u, r_e = ratios(f["intervals"]["1"])
        lines.append(line + f" {r_u:>10.3f} {r_e:>8.3f}")
    m = summary["mase"]["1"]
    line = f"{'mean':>6} {'':>6} {m['mean']:>7.4f}"
    spread = f"{'std':>6} {'':>6} {m['std']:>7.4f}"
    pooled = f"{'pooled':>6} {'':>6} {'':>7}"
    for h in ("1", "5", "10"):
        for k in keys:
            cov = summary["intervals"][h]["model"][k]["coverage"]
            line += f" {cov['mean'] * 100:>9.1f}"
            spread += f" {cov['std'] * 100:>9.1f}"
            pooled += f" {cov['pooled'] * 100:>9.1f}"
    pooled_scores = {
        method: {k: {"winkler": summary["intervals"]["1"][method][k]["winkler"]["pooled"]} for k in keys}
        for method in METHODS
    }
    r_u, r_e = ratios(pooled_scores)
    lines += [line, spread, pooled + f" {r_u:>10.3f} {r_e:>8.3f}"]
    return "\n".join(lines)


def plot_coverage(path: Path, ticker: str, folds: list[dict[str, Any]], summary: dict[str, Any], levels: Any) -> None:
    """Coverage per fold against the nominal line, one panel per horizon."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    horizons = list(folds[0]["intervals"])
    years = [f["year"] for f in folds]
    fig, axes = plt.subplots(1, len(horizons), figsize=(4.6 * len(horizons), 4.0), sharey=True, squeeze=False)
    for ax, h in zip(axes[0], horizons, strict=True):
        pooled = []
        for level, color in zip(levels, ("tab:blue", "tab:red"), strict=False):
            key = level_key(level)
            cov = [f["intervals"][h]["model"][key]["coverage"] * 100 for f in folds]
            ewma = [f["intervals"][h]["ewma"][key]["coverage"] * 100 for f in folds]
            pooled.append(f"{summary['intervals'][h]['model'][key]['coverage']['pooled'] * 100:.1f}%")
            ax.plot(years, cov, marker="o", color=color, label=f"{key}% interval, LSTM")
            ax.plot(years, ewma, marker="x", linestyle=":", color=color, alpha=0.6, label=f"{key}% interval, EWMA")
            ax.axhline(level * 100, color=color, linestyle="--", linewidth=0.9, label=f"nominal {key}%")
        ax.set_title(f"h = {h} day{'s' if h != '1' else ''}; LSTM pooled {' / '.join(pooled)}", fontsize=10)
        ax.set_xlabel("test year (fold)")
        ax.set_xticks(years)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("coverage of the test year, %")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(f"{ticker}: walk-forward coverage per fold, each fold trained on the years before it")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table(records: list[dict[str, Any]]) -> str:
    """One row per ticker: point MASE across folds, pooled coverage and interval score ratios."""
    out = [
        "| Ticker | Folds | MASE h=1, mean ± sd | Cover 80% h=1 / 5 / 10 | Cover 95% h=1 / 5 / 10 "
        "| Score / uncond. h=1 | Score / EWMA h=1 | Score / EWMA h=10 | Time s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        s = r["summary"]
        years = [f["year"] for f in r["folds"]]

        def cover(key: str, s: dict[str, Any] = s) -> str:
            return " / ".join(
                f"{s['intervals'][h]['model'][key]['coverage']['pooled'] * 100:.1f}" for h in ("1", "5", "10")
            )

        def ratio(h: str, base: str, s: dict[str, Any] = s) -> float:
            scores = s["intervals"][h]
            keys = [k for k in scores["model"] if k not in ("pinball", "n")]
            return float(
                np.mean([scores["model"][k]["winkler"]["pooled"] / scores[base][k]["winkler"]["pooled"] for k in keys])
            )

        mase = s["mase"]["1"]
        out.append(
            f"| {r['ticker']} | {len(years)} ({years[0]}-{years[-1]}) | {mase['mean']:.4f} ± {mase['std']:.4f} "
            f"| {cover('80')} | {cover('95')} | {ratio('1', 'unconditional'):.3f} | {ratio('1', 'ewma'):.3f} "
            f"| {ratio('10', 'ewma'):.3f} | {r['seconds']:.0f} |"
        )
    return "\n".join(out)
