"""The run's plots: test-period bands against prices, and the loss terms per epoch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from training.evaluate import level_key

FloatArray = npt.NDArray[np.float64]
# The zoomed panel shows the last this many test days, where single bands can be read.
ZOOM_DAYS = 90


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def predictions(
    path: Path, metrics: Mapping[str, Any], dates: Sequence[date] | None, plot: Mapping[str, FloatArray]
) -> None:
    """Actual closes, the one-day-ahead forecast with its bands, and persistence, over the test period."""
    plt = _pyplot()
    levels = metrics["intervals"]["levels"]
    h1 = metrics["interval_scores"]["horizons"]["1"]["model"]
    n = len(plot["actual"])
    x: Sequence[Any] = dates if dates is not None else range(n)
    fig, axes = plt.subplots(2, 1, figsize=(11, 8))
    for ax, start in ((axes[0], 0), (axes[1], max(0, n - ZOOM_DAYS))):
        xs = x[start:]
        # Widest band first so the narrower one is drawn on top.
        for i in sorted(range(len(levels)), key=lambda i: -levels[i]):
            key = level_key(levels[i])
            ax.fill_between(
                xs,
                plot["lower"][start:, i],
                plot["upper"][start:, i],
                alpha=0.2 if levels[i] > 0.9 else 0.35,
                color="tab:blue",
                linewidth=0,
                label=f"{key}% band (covers {h1[key]['coverage'] * 100:.1f}%)",
            )
        ax.plot(xs, plot["actual"][start:], color="black", linewidth=1.1, label="actual close")
        ax.plot(xs, plot["predicted"][start:], color="tab:blue", linewidth=0.9, label="LSTM, 1 day ahead")
        ax.plot(xs, plot["persistence"][start:], color="tab:orange", linewidth=0.8, linestyle="--", label="persistence")
        ax.set_ylabel("Close")
        ax.grid(alpha=0.3)
    test = metrics["test"]
    axes[0].set_title(
        f"{metrics['ticker']} test period, 1 day ahead: MAE {test['mae']:.4g} "
        f"(persistence {test['baseline_mae']:.4g}), MASE {test['mase']:.4f}"
    )
    axes[1].set_title(f"last {min(n, ZOOM_DAYS)} test days")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def losses(path: Path, metrics: Mapping[str, Any], history: Mapping[str, Sequence[float]]) -> None:
    """One panel per loss term (point MSE, scale likelihood, weighted total), training and validation."""
    plt = _pyplot()
    terms = [
        ("next_loss", "point: MSE of next (scaled)", True),
        ("scale_loss", "scale: Laplace NLL of the change", False),
        ("loss", "total (weighted) loss", False),
    ]
    terms = [t for t in terms if t[0] in history]
    fig, axes = plt.subplots(1, len(terms), figsize=(4.2 * len(terms), 3.8), squeeze=False)
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, (key, title, log) in zip(axes[0], terms, strict=True):
        ax.plot(epochs, history[key], marker=".", label="training")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], marker=".", label="validation")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    shrink = metrics.get("training", {}).get("head_shrinkage")
    fig.suptitle(
        f"{metrics['ticker']}: training and validation loss per epoch"
        + (f" (point head shrunk by {shrink:.3f} after training)" if shrink is not None else "")
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
