"""The network itself: what it starts from, and that its LSTM learns from the first step."""

import numpy as np
import pytest

from training.model import build_model

pytestmark = pytest.mark.slow


def windows(n: int = 64, w: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Volatility that clusters: some windows calm, some wild, so the scale has something to learn.
    vol = np.where(rng.random(n) < 0.5, 0.002, 0.02)[:, None]
    x = 0.5 + np.cumsum(rng.normal(size=(n, w)) * vol, axis=1)
    y = x[:, -1:] + rng.normal(size=(n, 1)) * vol
    return x[..., None].astype(np.float32), y.astype(np.float32)


def test_lstm_layers_get_gradient_at_the_first_step() -> None:
    import tensorflow as tf

    model = build_model(20, units=(8, 4))
    x, y = windows()
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = tf.reduce_mean((out["next"] - y) ** 2) + tf.reduce_mean(
            tf.math.log(2 * out["scale"]) + tf.abs(y - x[:, -1, :]) / out["scale"]
        )
    lstm = [v for v in model.trainable_variables if "lstm" in v.path]
    assert len(lstm) == 6  # kernel, recurrent kernel and bias of both layers
    grads = tape.gradient(loss, lstm)
    assert all(g is not None and float(tf.norm(g)) > 0 for g in grads)


def test_one_training_step_moves_the_lstm() -> None:
    model = build_model(20, units=(8,))
    x, y = windows()
    before = [w.copy() for w in model.get_layer("lstm_0").get_weights()]
    model.train_on_batch(x, {"next": y, "scale": y - x[:, -1, :]})
    after = model.get_layer("lstm_0").get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_untrained_network_starts_at_persistence_and_the_ewma_scale() -> None:
    model = build_model(20, units=(8,))
    x, _ = windows()
    out = model.predict_on_batch(x)
    changes = np.abs(np.diff(x[:, :, 0].astype(np.float64), axis=1))
    weights = 0.94 ** np.arange(18, -1, -1)
    ewma = changes @ (weights / weights.sum())
    np.testing.assert_allclose(out["scale"][:, 0], ewma, rtol=0.1)
    # The point correction is a small multiple of the scale: next is within a tenth of a day's move of last.
    assert np.all(np.abs(out["next"][:, 0] - x[:, -1, 0]) < 0.1 * ewma)


def test_outputs_scale_with_the_window_and_stay_positive() -> None:
    model = build_model(20, units=(8,))
    x, _ = windows()
    last = x[:, -1:, :]
    a = model.predict_on_batch(x)
    # Changes twice as large around the same last value: the scale doubles, the correction too.
    b = model.predict_on_batch(last + 2 * (x - last))
    np.testing.assert_allclose(b["scale"], 2 * a["scale"], rtol=1e-2)  # up to the floors
    np.testing.assert_allclose(b["next"] - last[:, 0], 2 * (a["next"] - last[:, 0]), rtol=1e-2, atol=1e-7)
    flat = model.predict_on_batch(np.full((2, 20, 1), 0.3, dtype=np.float32))
    assert np.all(flat["scale"] > 0) and np.all(np.isfinite(flat["next"]))


def test_point_shrinkage_keeps_a_right_correction_and_drops_a_wrong_one() -> None:
    from training.pipeline import predictor
    from training.shrink import shrink_point

    model = build_model(20, units=(8,))
    head = model.get_layer("delta")
    head.set_weights([w + 0.5 for w in head.get_weights()])  # a sizeable correction
    x, _ = windows(200)
    predict = predictor(model)
    nxt = predict(x)["next"]
    last = x[:, -1, :].astype(np.float64)
    assert shrink_point(model, predict, x, nxt) == pytest.approx(1.0)  # the data agree with it
    assert shrink_point(model, predict, x, 2 * last - nxt) == 0.0  # the data say the opposite
    np.testing.assert_allclose(predict(x)["next"], last, atol=1e-7)  # now exactly persistence


@pytest.mark.parametrize(("informative", "expected"), [(True, 1.0), (False, 0.0)])
def test_scale_shrinkage_keeps_a_modulation_only_where_validation_supports_it(
    informative: bool, expected: float
) -> None:
    import keras

    from training.pipeline import predictor
    from training.shrink import shrink_scale

    keras.utils.set_random_seed(0)
    model = build_model(20, units=(8,))
    head = model.get_layer("scale_multiplier")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 100, bias])  # the LSTM now modulates the EWMA scale strongly
    x, _ = windows(3000, seed=1)
    predict = predictor(model)
    scale = predict(x)["scale"][:, 0]
    s = np.asarray(model.get_layer("changes")(x)[1])[:, 0]
    assert np.std(np.log(scale / s)) > 0.15  # a modulation worth testing
    # Changes drawn at the modulated scale, or around the EWMA scale alone (the modulation is noise).
    truth = scale if informative else s * float(np.mean(scale / s))
    rng = np.random.default_rng(2)
    change = rng.laplace(scale=truth)
    y = x[:, -1, :].astype(np.float64) + change[:, None]
    assert shrink_scale(model, predict, x, y) == pytest.approx(expected, abs=0.1)
