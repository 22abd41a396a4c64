"""Loss curves that mean one thing per point: each loss term of the weights at the end of an epoch.

Keras logs a training epoch's loss as the running mean over its batches (the
weights change within the epoch), and averages per-output losses over batches
without weighting the short last one. Here every point, from epoch 0 (the
untrained network: about persistence and the EWMA scale) on, is the exact loss
of the current weights on the whole training and validation windows.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from common.contract import NEXT_OUTPUT, SCALE_OUTPUT
from training.windows import FloatArray


class LossCurves(keras.callbacks.Callback):
    """Records ``next_loss`` (MSE), ``scale_loss`` (Laplace NLL) and ``loss`` (their sum) per epoch.

    Keys for the validation windows carry a ``val_`` prefix, as in Keras' history,
    and are put into the epoch's logs, so ``fit`` needs no validation data of its own.
    """

    def __init__(self, train: tuple[FloatArray, FloatArray], val: tuple[FloatArray, FloatArray]) -> None:
        super().__init__()
        self.data = {"": train, "val_": val}
        self.history: dict[str, list[float]] = {}
        self._predict: Any = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        from training.pipeline import predictor

        self._predict = predictor(self.model)
        self._record()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._record()
        if logs is not None:
            # Callbacks after this one (early stopping) read the validation losses from here.
            logs.update({key: values[-1] for key, values in self.history.items() if key.startswith("val_")})

    def _record(self) -> None:
        for prefix, (x, y) in self.data.items():
            out = self._predict(x)
            mse = float(np.mean((out[NEXT_OUTPUT] - y) ** 2))
            scale = out[SCALE_OUTPUT]
            nll = float(np.mean(np.log(2.0 * scale) + np.abs(y - x[:, -1, :]) / scale))
            for name, value in (("next_loss", mse), ("scale_loss", nll), ("loss", mse + nll)):
                self.history.setdefault(prefix + name, []).append(value)
