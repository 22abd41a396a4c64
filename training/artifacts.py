"""Writes a run folder: model (.h5), scaler, metrics and plots."""

from __future__ import annotations

import json
import pickle
import platform
from collections.abc import Sequence
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from common.contract import RUN_METRICS_FILE as METRICS_FILE
from common.contract import RUN_MODEL_FILE as MODEL_FILE
from common.contract import RUN_SCALER_FILE as SCALER_FILE

PREDICTIONS_PLOT = "test_predictions.png"
LOSS_PLOT = "loss.png"


def new_run_dir(runs_dir: Path, ticker: str) -> Path:
    """``runs_dir/<model>/<YYYYmmdd-HHMMSS>``: where a new training run of ``ticker`` goes."""
    from common.naming import model_name

    return runs_dir / model_name(ticker) / datetime.now().strftime("%Y%m%d-%H%M%S")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a run's numbers."""
    out = {"python": platform.python_version()}
    for pkg in ("tensorflow", "keras", "numpy", "scikit-learn", "pandas", "yfinance"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def write_run(
    out_dir: Path,
    *,
    model: Any,
    scaler: Any,
    metrics: dict[str, Any],
    history: dict[str, list[float]],
    test_dates: Sequence[date] | None,
    actual: npt.NDArray[np.float64],
    predicted: npt.NDArray[np.float64],
) -> None:
    """Saves every artifact of a run into ``out_dir`` (created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / MODEL_FILE)
    with (out_dir / SCALER_FILE).open("wb") as fh:
        pickle.dump(scaler, fh)
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    _plot_predictions(out_dir / PREDICTIONS_PLOT, metrics, test_dates, actual, predicted)
    _plot_loss(out_dir / LOSS_PLOT, history)


def load_model(run_dir: Path) -> Any:
    """Loads a run's Keras model from its ``.h5`` file (inference only)."""
    import keras

    # compile=False: the .h5 keeps the training config, which only training needs.
    return keras.models.load_model(run_dir / MODEL_FILE, compile=False)


def load_scaler(run_dir: Path) -> Any:
    """Loads a run's fitted MinMaxScaler."""
    with (run_dir / SCALER_FILE).open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 - our own artifact


def _plot_predictions(
    path: Path,
    metrics: dict[str, Any],
    dates: Sequence[date] | None,
    actual: npt.NDArray[np.float64],
    predicted: npt.NDArray[np.float64],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x: Sequence[Any] = dates if dates is not None else range(len(actual))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.plot(x, actual, label="actual", linewidth=1.2)
    ax.plot(x, predicted, label="LSTM (1 day ahead)", linewidth=1.0)
    test = metrics["test"]
    ax.set_title(
        f"{metrics['ticker']} test period: MAE {test['mae']:.3f} "
        f"(persistence {test['baseline_mae']:.3f}), MASE {test['mase']:.3f}"
    )
    ax.set_ylabel("Close")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_loss(path: Path, history: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    epochs = range(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training")
    ax.plot(epochs, history["val_loss"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled)")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
