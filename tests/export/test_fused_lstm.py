"""The serving clone's fused LSTM computes what Keras' LSTM computes, and keeps every other layer as trained."""

import keras
import numpy as np
import pytest

from export.exporter import ExportError, serving_clone
from export.fused_lstm import FusedLSTM

pytestmark = pytest.mark.slow
W = 12


def _randomised(model: keras.Model, seed: int) -> keras.Model:
    """Non-zero weights everywhere (biases included), as after training."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _stacked(units: tuple[int, ...], head: str = "linear") -> keras.Model:
    inputs = keras.Input(shape=(W, 1), name="window")
    x = inputs
    for i, n in enumerate(units):
        x = keras.layers.LSTM(n, return_sequences=i < len(units) - 1, use_cudnn=False, name=f"lstm_{i}")(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation=head, name="head")(x))


@pytest.mark.parametrize("units", [(5,), (6, 3)])
@pytest.mark.parametrize("batch", [1, 7])
def test_the_clone_computes_the_trained_lstms(units: tuple[int, ...], batch: int) -> None:
    trained = _randomised(_stacked(units), seed=len(units))
    served = serving_clone(trained)
    assert [type(layer) for layer in served.layers if "lstm" in layer.name] == [FusedLSTM] * len(units)
    # Standardised changes reach a few units in magnitude: saturate the gates too.
    x = np.random.default_rng(batch).normal(0, 2.0, (batch, W, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(served(x)), np.asarray(trained(x)), rtol=1e-5, atol=1e-6)


def test_return_sequences_gives_every_step() -> None:
    lstm = keras.layers.LSTM(4, return_sequences=True, use_cudnn=False)
    x = np.random.default_rng(0).normal(size=(3, W, 2)).astype(np.float32)
    expected = np.asarray(lstm(x))
    fused = FusedLSTM(4, return_sequences=True)
    fused.build(x.shape)
    fused.set_weights([np.asarray(w) for w in lstm.weights])
    got = np.asarray(fused(x))
    assert got.shape == (3, W, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_every_other_layer_keeps_its_trained_configuration() -> None:
    """The clone is made from the trained model, not rebuilt from today's code: a softplus head stays softplus."""
    trained = _randomised(_stacked((4,), head="softplus"), seed=3)
    served = serving_clone(trained)
    assert served.get_layer("head").get_config()["activation"] == "softplus"
    x = np.random.default_rng(1).normal(size=(2, W, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(served(x)), np.asarray(trained(x)), rtol=1e-5, atol=1e-6)


def test_an_lstm_the_fused_op_cannot_compute_is_refused() -> None:
    inputs = keras.Input(shape=(W, 1))
    x = keras.layers.LSTM(3, activation="relu", use_cudnn=False, name="odd")(inputs)
    with pytest.raises(ExportError, match=r"'odd'.*relu"):
        serving_clone(keras.Model(inputs, x))


@pytest.mark.parametrize("features", [1, 2, 3])
def test_the_fused_op_always_sees_an_even_input_size(features: int) -> None:
    """With an odd one, BlockLSTMV2 logs a warning on every call of an odd batch size (TF Serving's log, flooded)."""
    import tensorflow as tf

    fused = FusedLSTM(4)
    fused.build((None, W, features))
    graph = tf.function(fused.call).get_concrete_function(tf.TensorSpec([None, W, features], tf.float32)).graph
    (op,) = [op for op in graph.get_operations() if op.type == "BlockLSTMV2"]
    x, w = op.inputs[1], op.inputs[4]
    assert x.shape[-1] % 2 == 0 and w.shape[0] == x.shape[-1] + 4
