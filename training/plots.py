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
        # The forecast under the dashed persistence line: where they coincide both stay visible.
        ax.plot(xs, plot["predicted"][start:], color="tab:purple", linewidth=1.6, label="LSTM, 1 day ahead")
        ax.plot(xs, plot["persistence"][start:], color="tab:orange", linewidth=1.0, linestyle="--", label="persistence")
        ax.set_ylabel("Close")
        ax.grid(alpha=0.3)
    test = metrics["test"]
    axes[0].set_title(
        f"{metrics['ticker']} test period, 1 day ahead: MAE {test['mae']:.4g} "
        f"(persistence {test['baseline_mae']:.4g}), MASE {test['mase']:.4f}"
    )
    axes[1].set_title(f"last {min(n, ZOOM_DAYS)} test days")
    axes[0].legend(loc="upper left", fontsize=8)
    if dates is not None:
        import matplotlib.dates as mdates

        for ax in axes:
            locator = mdates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def losses(path: Path, metrics: Mapping[str, Any], history: Mapping[str, Sequence[float]]) -> None:
    """One panel per loss term, training and validation, each against its own value before training.

    Epoch 0 is the untrained network: about persistence for the point and the
    EWMA scale for the spread. Training and validation losses sit at different
    levels (the periods differ in volatility), so each curve is drawn as its
    change from its own epoch 0; the panel titles give the starting values.
    """
    plt = _pyplot()
    terms = [
        ("next_loss", "point: MSE of next", "MSE change from epoch 0, %", True),
        ("scale_loss", "scale: Laplace NLL of the change", "NLL change from epoch 0", False),
        ("loss", "total (weighted sum)", "loss change from epoch 0", False),
    ]
    terms = [t for t in terms if t[0] in history]
    fig, axes = plt.subplots(1, len(terms), figsize=(4.4 * len(terms), 4.0), squeeze=False)
    epochs = np.arange(len(history["loss"]))
    # Early stopping restores the trained epoch with the lowest validation loss.
    kept = int(np.argmin(history["val_loss"][1:])) + 1 if len(epochs) > 1 and "val_loss" in history else 0
    for ax, (key, title, ylabel, relative) in zip(axes[0], terms, strict=True):
        starts = []
        for name, label in ((key, "training"), (f"val_{key}", "validation")):
            if name not in history:
                continue
            values = np.asarray(history[name], dtype=np.float64)
            change = (values / values[0] - 1.0) * 100.0 if relative else values - values[0]
            ax.plot(epochs, change, marker=".", label=label)
            starts.append(f"{label[:5]}. {values[0]:.4g}")
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.axvline(kept, color="grey", linestyle=":", linewidth=1.0, label=f"kept (epoch {kept})")
        ax.set_title(f"{title}\nepoch 0: {', '.join(starts)}", fontsize=9)
        ax.set_xlabel("epoch (0 = before training)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    run = metrics["training"]
    fig.suptitle(
        f"{metrics['ticker']}: loss per epoch; after training the point head was shrunk by "
        f"{run['head_shrinkage']:.2f} and the scale head by {run['scale_shrinkage']:.2f}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
