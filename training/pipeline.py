"""One training run: prices -> windows -> fitted LSTM -> metrics -> artifacts."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.naming import model_name
from common.prices import PriceSeries
from training import artifacts
from training.config import TrainConfig
from training.evaluate import horizon_metrics, point_metrics, recursive_forecast
from training.windows import FloatArray, Split, chronological_split, fit_scaler, make_windows

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced: its folder and its metrics."""

    run_dir: Path
    metrics: dict[str, Any]


def seed_everything(seed: int) -> None:
    """Seeds Python, NumPy and TensorFlow and makes TF ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def shrink_head(model: Any, x_val: FloatArray, y_val: FloatArray) -> float:
    """Shrinks the learned correction towards persistence, fitted on validation.

    The network's forecast is ``last + delta``. The factor ``a`` in
    ``last + a * delta`` that minimises validation squared error is
    ``sum(delta * (y - last)) / sum(delta**2)``; clipped to ``[0, 1]``, it is
    folded into the Dense head, so the saved model carries it. ``a = 0`` is
    exactly the persistence forecast: the model keeps only as much of what it
    learned as held up on data it was not fitted on.

    Returns:
        The factor applied.
    """
    last = x_val[:, -1, :]
    delta = np.asarray(model.predict(x_val.astype(np.float32), verbose=0), dtype=np.float64) - last
    denom = float(np.sum(delta**2))
    factor = float(np.clip(np.sum(delta * (y_val - last)) / denom, 0.0, 1.0)) if denom > 0 else 0.0
    head = model.get_layer("delta")
    head.set_weights([w * factor for w in head.get_weights()])
    return factor


def train(series: PriceSeries, config: TrainConfig, *, out_dir: Path, verbose: int | None = None) -> RunResult:
    """Trains, evaluates and writes one run folder.

    Args:
        series: chronological daily prices (with dates when known).
        config: hyperparameters and split.
        out_dir: the run folder to create.
        verbose: Keras verbosity; a progress bar on a terminal, one line per epoch otherwise.

    Returns:
        The run folder and its metrics (also written to ``metrics.json``).
    """
    import keras

    from training.model import build_model

    started = time.perf_counter()
    prices = np.asarray(series.prices, dtype=np.float64)
    split = chronological_split(
        prices.shape[0], window=config.window, val_fraction=config.val_fraction, test_fraction=config.test_fraction
    )
    scaler = fit_scaler(prices, split)
    scaled = scaler.transform(prices.reshape(-1, 1))[:, 0]
    parts = split.parts
    x_train, y_train = make_windows(scaled, parts["train"], window=config.window)
    x_val, y_val = make_windows(scaled, parts["val"], window=config.window)
    x_test, _y_test = make_windows(scaled, parts["test"], window=config.window)
    logger.info("windows: train %d, val %d, test %d", len(x_train), len(x_val), len(x_test))

    seed_everything(config.seed)
    model = build_model(config.window, units=config.units, learning_rate=config.learning_rate)
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)]
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,  # shuffles windows within the training period only
        callbacks=callbacks,
        verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
    )
    shrinkage = shrink_head(model, x_val, y_val)
    train_seconds = time.perf_counter() - started

    def predict_scaled(windows: FloatArray) -> FloatArray:
        return np.asarray(model.predict_on_batch(windows.astype(np.float32)), dtype=np.float64)

    def unscale(values: FloatArray) -> FloatArray:
        return np.asarray(scaler.inverse_transform(values.reshape(-1, 1)).reshape(values.shape), dtype=np.float64)

    test_targets = np.arange(max(parts["test"].start, config.window), parts["test"].stop)
    actual = prices[test_targets]
    predicted = unscale(predict_scaled(x_test))[:, 0]
    persistence = prices[test_targets - 1]
    steps = max(config.horizons)
    forecasts = unscale(recursive_forecast(x_test, steps=steps, predict=predict_scaled))
    metrics: dict[str, Any] = {
        "model": model_name(config.ticker),
        "ticker": config.ticker,
        "data": _data_info(series, split),
        "config": config.to_json(),
        "test": point_metrics(actual, predicted, persistence),
        "horizons": horizon_metrics(prices, test_targets - 1, forecasts, config.horizons),
        "training": {
            "epochs_run": len(history.history["loss"]),
            "head_shrinkage": round(shrinkage, 6),
            "seconds": round(train_seconds, 2),
            "windows": {"train": len(x_train), "val": len(x_val), "test": len(x_test)},
        },
        "scaler": {"data_min": float(scaler.data_min_[0]), "data_max": float(scaler.data_max_[0])},
        "versions": artifacts.library_versions(),
    }
    artifacts.write_run(
        out_dir,
        model=model,
        scaler=scaler,
        metrics=metrics,
        history=history.history,
        test_dates=[series.dates[i] for i in test_targets] if series.dates else None,
        actual=actual,
        predicted=predicted,
    )
    return RunResult(out_dir, metrics)


def _data_info(series: PriceSeries, split: Split) -> dict[str, Any]:
    info: dict[str, Any] = {"rows": split.n, "train_rows": split.train_end, "val_rows": split.val_end - split.train_end}
    info["test_rows"] = split.n - split.val_end
    if series.dates:
        d = series.dates
        info["range"] = [d[0].isoformat(), d[-1].isoformat()]
        for name, rows in split.parts.items():
            info[f"{name}_range"] = [d[rows.start].isoformat(), d[rows.stop - 1].isoformat()]
    return info
