import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from common.contract import INTERVAL_LEVELS, MAX_FORECAST_STEPS, SIGNATURES, metadata_asset_path
from common.metadata import VersionMetadata, parse_metadata, read_metadata
from loadtest.modelcall import graph_nodes
from tests.conftest import SMALL
from training import artifacts
from training.intervals import IntervalCalibration, forecast_intervals
from training.pipeline import RunResult

pytestmark = pytest.mark.slow
W = SMALL.window


@pytest.fixture(scope="module")
def v1(models_dir: Path) -> Any:
    return tf.saved_model.load(str(models_dir / "aapl" / "1"))


@pytest.fixture(scope="module")
def metadata(models_dir: Path) -> VersionMetadata:
    return read_metadata(models_dir / "aapl" / "1")


def windows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.3, 1.2, size=(n, W, 1)).astype(np.float32)


def test_serving_default_matches_the_h5_model(v1: Any, small_run: RunResult) -> None:
    x = windows(16)
    keras_model = artifacts.load_model(small_run.run_dir)
    exported = v1.signatures["serving_default"](window=tf.constant(x))
    expected = keras_model.predict(x, verbose=0)
    for name in ("next", "scale"):
        np.testing.assert_allclose(exported[name].numpy(), expected[name], rtol=1e-5, atol=1e-6)
    assert (exported["scale"].numpy() > 0).all()


def test_forecast_and_intervals_equal_trainings_reference(v1: Any, small_run: RunResult) -> None:
    """The graph's point paths and bands are those training.intervals computes from the .h5 and metrics.json."""
    scaler = artifacts.load_scaler(small_run.run_dir)
    keras_model = artifacts.load_model(small_run.run_dir)
    calibration = IntervalCalibration.from_json(small_run.metrics["intervals"])
    scaled = windows(4, seed=1)
    prices = scaler.inverse_transform(scaled[:, :, 0].reshape(-1, 1)).reshape(4, W).astype(np.float32)
    steps = np.array([1, 5, 10, 3], dtype=np.int32)
    got = v1.signatures["forecast"](prices=tf.constant(prices), steps=tf.constant(steps))
    assert got["forecast"].shape == (4, 10) and got["lower"].shape == got["upper"].shape == (
        4,
        len(INTERVAL_LEVELS),
        10,
    )

    exact = scaler.transform(prices.reshape(-1, 1)).reshape(4, W, 1)  # the windows the graph scaled itself
    point, lower, upper = forecast_intervals(keras_model.predict_on_batch, exact, steps=10, calibration=calibration)

    def unscale(a: np.ndarray) -> np.ndarray:
        return scaler.inverse_transform(a.reshape(-1, 1)).reshape(a.shape)

    atol = 1e-5 * float(scaler.data_max_[0])  # float32 in the graph: bounds near zero differ in relative terms
    for row, n in enumerate(steps):
        np.testing.assert_allclose(got["forecast"].numpy()[row, :n], unscale(point)[row, :n], rtol=1e-4)
        for name, ref in (("lower", lower), ("upper", upper)):
            np.testing.assert_allclose(got[name].numpy()[row, :, :n], unscale(ref)[row, :, :n], rtol=1e-4, atol=atol)
            assert not got[name].numpy()[row, :, n:].any()  # past a row's own horizon: zeros
        assert not got["forecast"].numpy()[row, n:].any()
    band = got["upper"].numpy() - got["lower"].numpy()
    assert (band[:, 1, :1] > band[:, 0, :1]).all()  # the 95% band is wider than the 80% one


def test_one_rows_bad_values_never_fail_or_change_its_batch(v1: Any, small_run: RunResult) -> None:
    """TF Serving batches clients' rows together: a bad row is reported, the others get their own answers."""
    scaler = artifacts.load_scaler(small_run.run_dir)
    good = scaler.inverse_transform(windows(1, seed=2)[0]).reshape(1, W).astype(np.float32)
    bad_rows = {
        "steps 0": (good, 0),
        "steps over the maximum": (good, MAX_FORECAST_STEPS + 1),
        "steps 10**9": (good, 10**9),
        "negative price": (np.where(np.arange(W) == 3, -1.0, good).astype(np.float32), 5),
        "NaN": (np.where(np.arange(W) == 0, np.nan, good).astype(np.float32), 5),
        "infinity": (np.where(np.arange(W) == W - 1, np.inf, good).astype(np.float32), 5),
        "subnormal 1e-40": (np.full((1, W), 1e-40, dtype=np.float32), 5),
    }
    prices = np.concatenate([good, *(p for p, _ in bad_rows.values()), good])
    steps = np.array([4, *(n for _, n in bad_rows.values()), 7], dtype=np.int32)
    out = v1.signatures["forecast"](prices=tf.constant(prices), steps=tf.constant(steps))
    valid, forecast = out["valid"].numpy(), out["forecast"].numpy()
    assert valid.tolist() == [True] + [False] * len(bad_rows) + [True]
    assert forecast.shape == (len(steps), 7)  # the bad rows' steps did not widen (or lengthen) the batch
    assert np.isnan(forecast[1:-1]).all()
    alone = v1.signatures["forecast"](prices=tf.constant(good), steps=tf.constant([7]))["forecast"].numpy()[0]
    np.testing.assert_allclose(forecast[-1], alone, rtol=1e-6)
    np.testing.assert_allclose(forecast[0, :4], alone[:4], rtol=1e-6)


def test_the_metadata_signature_returns_the_versions_metadata(v1: Any, models_dir: Path) -> None:
    version_dir = models_dir / "aapl" / "1"
    out = v1.signatures["metadata"](probe=tf.constant([0, 7, -1]))["metadata"].numpy()
    assert out.shape == (3,) and len(set(out.tolist())) == 1  # one copy per row, for TF Serving's batching
    assert read_metadata(version_dir) == parse_metadata(out[0])
    # The graph reads the asset copied into the SavedModel, not the file the exporter started from.
    assert metadata_asset_path(version_dir).read_bytes() == out[0]


def test_the_server_side_loader_reads_the_metadata_asset(models_dir: Path) -> None:
    """TF Serving loads with the C++ SavedModel loader, which feeds asset paths to the graph: so does TF1's."""
    version_dir = models_dir / "aapl" / "2"
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        graph = tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(version_dir))
        sig = graph.signature_def["metadata"]
        out = sess.run(sig.outputs["metadata"].name, {sig.inputs["probe"].name: [1, 2]})
    assert parse_metadata(out[0]).version == 2


def test_the_server_side_loader_runs_the_fused_lstm(v1: Any, models_dir: Path) -> None:
    """TF Serving's C++ loader (through TF1's) runs serving_default, BlockLSTMV2 included, as TF2 does."""
    x = windows(3, seed=5)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        graph = tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(models_dir / "aapl" / "1"))
        sig = graph.signature_def["serving_default"]
        out = sess.run(sig.outputs["next"].name, {sig.inputs["window"].name: x})
    np.testing.assert_allclose(out, v1.signatures["serving_default"](window=tf.constant(x))["next"].numpy(), rtol=1e-6)


def test_each_lstm_is_one_fused_node(v1: Any) -> None:
    """No loop over the window: one BlockLSTMV2 per LSTM layer, however long the window."""
    ops = graph_nodes(v1.signatures["serving_default"])
    assert ops["BlockLSTMV2"] == len(SMALL.units)
    # The gates are inside the fused op: no loop, and no sigmoid outside it.
    assert not ops["While"] and not ops["StatelessWhile"] and not ops["Sigmoid"]


def test_graph_has_no_assert_ops(models_dir: Path) -> None:
    assert not [op for op in _all_ops(models_dir / "aapl" / "1") if "assert" in op.lower()]


def _all_ops(path: Path) -> set[str]:
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    ops: set[str] = set()
    for graph in saved.meta_graphs:
        ops |= {node.op for node in graph.graph_def.node}
        for fn in graph.graph_def.library.function:
            ops |= {node.op for node in fn.node_def}
    return ops


def test_graph_has_no_cudnn_ops(models_dir: Path) -> None:
    ops = _all_ops(models_dir / "aapl" / "1")
    assert "While" in ops or "StatelessWhile" in ops  # the graph was really scanned
    assert not [op for op in ops if "cudnn" in op.lower()]


def test_tensor_names_match_the_contract(v1: Any, metadata: VersionMetadata) -> None:
    assert set(v1.signatures) == {s.name for s in SIGNATURES} == set(metadata.signatures)
    for spec in SIGNATURES:
        fn = v1.signatures[spec.name]
        inputs = fn.structured_input_signature[1]
        assert set(inputs) == spec.input_names
        assert set(fn.structured_outputs) == {t.name for t in spec.outputs}
        for tensor in spec.inputs:
            served = inputs[tensor.name]
            assert served.dtype.name == tensor.dtype
            assert [d if d is not None else -1 for d in served.shape.as_list()] == tensor.concrete_shape(W)
            assert served.shape[0] is None  # every input has a batch dimension


def test_metadata_describes_the_version(metadata: VersionMetadata, small_run: RunResult, models_dir: Path) -> None:
    assert (metadata.model, metadata.version, metadata.ticker, metadata.window) == ("aapl", 1, "AAPL", W)
    scaler = artifacts.load_scaler(small_run.run_dir)
    assert metadata.scaler.data_min == pytest.approx(scaler.data_min_[0])
    assert metadata.scaler.data_max == pytest.approx(scaler.data_max_[0])
    assert metadata.scaler.feature_range == tuple(scaler.feature_range)
    assert metadata.metrics.test.mase == small_run.metrics["test"]["mase"]
    assert metadata.data.range == ("2019-01-02", "2024-12-31")
    assert "tensorflow" in metadata.versions.export and metadata.created_at.tzinfo is not None
    with (models_dir / "aapl" / "1" / "assets.extra" / "scaler.pkl").open("rb") as fh:
        copied = pickle.load(fh)
    assert copied.data_max_[0] == scaler.data_max_[0]
    assert read_metadata(models_dir / "aapl" / "2").version == 2
