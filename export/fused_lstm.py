"""An LSTM layer for the serving graph: every timestep of the window in one TensorFlow op.

Keras' LSTM exports as a loop over the window (60 steps: about 20 graph
nodes each when unrolled, a ``While`` loop otherwise), and TensorFlow's
executor dispatches every node on every call: at the facade's batch sizes a
call's cost is mostly that dispatch. :class:`FusedLSTM` computes the same
function with ``BlockLSTMV2``, a core TensorFlow op (CPU and GPU kernels, so
TF Serving runs it) that loops over the timesteps inside one kernel. Its gate
layout (input, forget, cell, output) and its equations are Keras' (sigmoid
gates, tanh cell and output, no forget bias added at run time, no peepholes,
no clipping), so it takes a trained ``keras.layers.LSTM``'s three weights
as they are: ``[kernel; recurrent_kernel]`` stacked, and the bias.

Inference only (no dropout, no state; it is never trained). :func:`check_fusable`
says which trained layers it can stand in for.
"""

from __future__ import annotations

from typing import Any

import keras

# keras.layers.LSTM settings BlockLSTMV2 computes exactly: anything else cannot be fused.
FUSABLE = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "go_backwards": False,
    "stateful": False,
    "return_state": False,
}


class FusedLSTM(keras.layers.Layer):
    """``keras.layers.LSTM(units, return_sequences=...)`` at inference, as one ``BlockLSTMV2`` op.

    Args:
        units: the hidden size.
        return_sequences: return every step's output ``[batch, W, units]`` instead of the last ``[batch, units]``.
    """

    def __init__(self, units: int, *, return_sequences: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.return_sequences = bool(return_sequences)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        features = int(input_shape[-1])  # type: ignore[arg-type]
        # Created in keras.layers.LSTM's order and shapes, so that set_weights takes a trained model's weights.
        self.kernel = self.add_weight(shape=(features, 4 * self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, 4 * self.units), name="recurrent_kernel")
        self.bias = self.add_weight(shape=(4 * self.units,), name="bias")

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        # keras.layers.LSTM's signature, which a cloned model's graph calls with: no masking layer feeds it.
        import tensorflow as tf

        if mask is not None:
            raise ValueError(f"{self.name}: masked sequences are not supported")

        time_major = tf.transpose(inputs, [1, 0, 2])  # BlockLSTMV2 reads [W, batch, features]
        stacked = [self.kernel, self.recurrent_kernel]
        if int(inputs.shape[-1]) % 2:
            # With an odd input size the kernel logs a warning on every call of an odd batch size (batch 1
            # included) and takes a slower path: one zero feature, with zero weights, changes neither outputs.
            time_major = tf.pad(time_major, [[0, 0], [0, 0], [0, 1]])
            stacked.insert(1, tf.zeros([1, 4 * self.units], dtype=inputs.dtype))
        zeros = tf.zeros(tf.stack([tf.shape(inputs)[0], self.units]), dtype=inputs.dtype)
        no_peephole = tf.zeros([self.units], dtype=inputs.dtype)
        out = tf.raw_ops.BlockLSTMV2(
            seq_len_max=tf.cast(tf.shape(inputs)[1], tf.int64),
            x=time_major,
            cs_prev=zeros,
            h_prev=zeros,
            w=tf.concat(stacked, axis=0),
            wci=no_peephole,
            wcf=no_peephole,
            wco=no_peephole,
            b=self.bias,
            cell_clip=0.0,  # no clipping (Keras clips nothing)
            use_peephole=False,
        )
        if self.return_sequences:
            return tf.transpose(out.h, [1, 0, 2])
        return out.h[-1]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(units=self.units, return_sequences=self.return_sequences)
        return config


def check_fusable(model: Any) -> None:
    """Raises ValueError naming the first LSTM layer of ``model`` that :class:`FusedLSTM` cannot compute."""
    for layer in model.layers:
        if not isinstance(layer, keras.layers.LSTM):
            continue
        config = layer.get_config()
        wrong = {k: config.get(k) for k, v in FUSABLE.items() if config.get(k) != v}
        if wrong:
            raise ValueError(f"LSTM layer {layer.name!r} cannot be served fused: {wrong} (fusable: {FUSABLE})")
