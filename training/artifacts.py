"""Writes a run folder: model (.h5), scaler, metrics and plots."""

from __future__ import annotations

import json
import pickle
import platform
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from common.contract import RUN_METRICS_FILE as METRICS_FILE
from common.contract import RUN_MODEL_FILE as MODEL_FILE
from common.contract import RUN_SCALER_FILE as SCALER_FILE
from training import plots

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
    plot: Mapping[str, npt.NDArray[np.float64]],
) -> None:
    """Saves every artifact of a run into ``out_dir`` (created).

    ``plot`` holds the test period's ``actual``, ``predicted`` and ``persistence``
    prices ``[n]`` and the one-day-ahead ``lower`` and ``upper`` bounds ``[n, levels]``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / MODEL_FILE)
    with (out_dir / SCALER_FILE).open("wb") as fh:
        pickle.dump(scaler, fh)
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    plots.predictions(out_dir / PREDICTIONS_PLOT, metrics, test_dates, plot)
    plots.losses(out_dir / LOSS_PLOT, metrics, history)


def load_model(run_dir: Path) -> Any:
    """Loads a run's Keras model from its ``.h5`` file (inference only)."""
    import keras

    import training.model  # noqa: F401 - registers the custom layer the file names

    # compile=False: the .h5 keeps the training config, which only training needs.
    return keras.models.load_model(run_dir / MODEL_FILE, compile=False)


def load_scaler(run_dir: Path) -> Any:
    """Loads a run's fitted MinMaxScaler."""
    with (run_dir / SCALER_FILE).open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 - our own artifact
