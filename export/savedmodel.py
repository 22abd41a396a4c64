"""Writes a trained Keras model as a SavedModel with the serving contract's signatures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from export.contract import (
    DEFAULT_SIGNATURE,
    FORECAST_OUTPUT,
    FORECAST_SIGNATURE,
    MAX_FORECAST_STEPS,
    NEXT_OUTPUT,
    PRICES_INPUT,
    STEPS_INPUT,
    WINDOW_INPUT,
)


def write_savedmodel(model: Any, path: Path, *, window: int, data_min: float, data_max: float) -> None:
    """Exports ``model`` to ``path`` with the ``serving_default`` and ``forecast`` signatures.

    Args:
        model: Keras model mapping scaled windows ``[batch, W, 1]`` to ``[batch, 1]``.
        path: SavedModel folder to create (must not exist).
        window: ``W``.
        data_min: the MinMaxScaler's training minimum (price units).
        data_max: the MinMaxScaler's training maximum (price units).
    """
    import keras
    import tensorflow as tf

    lo = tf.constant(data_min, tf.float32)
    span = tf.constant(data_max - data_min, tf.float32)

    archive = keras.export.ExportArchive()
    archive.track(model)

    def serving_default(window_in: tf.Tensor) -> dict[str, tf.Tensor]:
        return {NEXT_OUTPUT: model(window_in, training=False)}

    def forecast(prices: tf.Tensor, steps: tf.Tensor) -> dict[str, tf.Tensor]:
        checks = [
            tf.debugging.assert_positive(steps, message="steps must be at least 1"),
            tf.debugging.assert_less_equal(
                steps, MAX_FORECAST_STEPS, message=f"steps must be at most {MAX_FORECAST_STEPS}"
            ),
            tf.debugging.assert_positive(prices, message="prices must be positive"),
        ]
        with tf.control_dependencies(checks):
            max_steps = tf.reduce_max(steps)
        # Same transform as sklearn's MinMaxScaler with feature_range (0, 1).
        scaled = ((prices - lo) / span)[:, :, tf.newaxis]
        out = tf.TensorArray(tf.float32, size=max_steps)

        def body(i: tf.Tensor, win: tf.Tensor, acc: tf.TensorArray) -> tuple[tf.Tensor, tf.Tensor, tf.TensorArray]:
            nxt = model(win, training=False)  # [batch, 1]
            # Slide the window: drop the oldest day, append the prediction.
            win = tf.concat([win[:, 1:, :], nxt[:, :, tf.newaxis]], axis=1)
            return i + 1, win, acc.write(i, nxt[:, 0])

        _, _, out = tf.while_loop(lambda i, w, a: i < max_steps, body, (tf.constant(0), scaled, out))
        values = tf.transpose(out.stack()) * span + lo  # [batch, max_steps], price units
        # Rows asking for fewer steps than the batch's maximum get zeros past their own horizon.
        mask = tf.sequence_mask(steps, max_steps)
        return {FORECAST_OUTPUT: tf.where(mask, values, tf.zeros_like(values))}

    archive.add_endpoint(
        name=DEFAULT_SIGNATURE,
        fn=serving_default,
        input_signature=[tf.TensorSpec([None, window, 1], tf.float32, name=WINDOW_INPUT)],
    )
    archive.add_endpoint(
        name=FORECAST_SIGNATURE,
        fn=forecast,
        input_signature=[
            tf.TensorSpec([None, window], tf.float32, name=PRICES_INPUT),
            tf.TensorSpec([None], tf.int32, name=STEPS_INPUT),
        ],
    )
    archive.write_out(str(path), verbose=False)
