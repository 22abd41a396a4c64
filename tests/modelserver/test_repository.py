import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from common.contract import SIGNATURES, metadata_path
from modelserver.repository import ModelRepository, SignatureCaller

pytestmark = pytest.mark.slow


def test_warmup_records_parse_and_the_signatures_accept_them(models_dir: Path) -> None:
    path = models_dir / "aapl" / "1" / "assets.extra" / "tf_serving_warmup_requests"
    logs = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    signatures = {log.predict_log.request.model_spec.signature_name for log in logs}
    assert signatures == {s.name for s in SIGNATURES}
    assert len(logs) <= 1000  # TF Serving reads at most 1000 warmup records

    repo = ModelRepository(models_dir)
    repo.refresh()
    servable = repo.get("aapl", 1)
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.name == "aapl"
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        outputs = servable.run(request.model_spec.signature_name, inputs)
        assert all(np.isfinite(v).all() for v in outputs.values() if v.dtype.kind == "f")


def test_a_version_whose_metadata_breaks_the_contract_is_refused(
    models_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(models_dir / "aapl" / "1", tmp_path / "aapl" / "1")
    shutil.copytree(models_dir / "aapl" / "2", tmp_path / "aapl" / "2")
    meta = json.loads(metadata_path(tmp_path / "aapl" / "2").read_text())
    meta["window"] += 1  # the signatures' shapes no longer match it
    metadata_path(tmp_path / "aapl" / "2").write_text(json.dumps(meta))
    repo = ModelRepository(tmp_path)
    with caplog.at_level(logging.ERROR):
        repo.refresh()
    assert repo.versions("aapl") == [1]
    assert "refused aapl version 2" in caplog.text and "the contract says" in caplog.text


def _public_call(servable: Any, signature: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    fn = servable.loaded.signatures[signature]
    specs = servable.input_specs(signature)
    return {k: v.numpy() for k, v in fn(**{k: tf.constant(v, dtype=specs[k].dtype) for k, v in inputs.items()}).items()}


def _inputs(signature: str, batch: int, window: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(batch)
    if signature == "serving_default":
        return {"window": rng.uniform(0, 1, (batch, window, 1)).astype(np.float32)}
    if signature == "forecast":
        return {
            "prices": rng.uniform(150, 200, (batch, window)).astype(np.float32),
            "steps": rng.integers(1, 8, batch).astype(np.int32),
        }
    return {"probe": np.zeros(batch, dtype=np.int32)}


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("flat", [True, False], ids=["flat call", "public call"])
def test_every_signature_answers_as_the_public_call(models_dir: Path, batch: int, flat: bool) -> None:
    repo = ModelRepository(models_dir)
    repo.refresh()
    servable = repo.get("aapl", 2)
    window = servable.metadata.window
    for signature in servable.signature_names:
        caller = SignatureCaller(signature, servable.loaded.signatures[signature], flat=flat)
        assert (caller._flat is not None) == flat  # this TensorFlow has AtomicFunction.call_flat
        inputs = _inputs(signature, batch, window)
        got, expected = caller(inputs), _public_call(servable, signature, inputs)
        assert got.keys() == expected.keys()
        for name in expected:
            assert got[name].dtype == expected[name].dtype
            np.testing.assert_array_equal(got[name], expected[name])
    # Python floats and float64 arrays are cast to the signature's dtype, as tf.constant casts them.
    as_list = servable.run("serving_default", {"window": _inputs("serving_default", 1, window)["window"].tolist()})
    assert as_list["next"].dtype == np.float32


def test_inputs_the_signature_does_not_take_are_refused(models_dir: Path) -> None:
    repo = ModelRepository(models_dir)
    repo.refresh()
    servable = repo.get("aapl", 1)
    window = servable.metadata.window
    with pytest.raises(
        ValueError, match=rf"input 'window' .* has shape \(1, {window - 1}, 1\), needs \(None, {window}, 1\)"
    ):
        servable.run("serving_default", {"window": np.zeros((1, window - 1, 1), np.float32)})
    with pytest.raises(ValueError, match="has shape"):
        servable.run("serving_default", {"window": np.zeros((1, window), np.float32)})
    with pytest.raises(ValueError, match=r"takes inputs \['prices', 'steps'\], got \['prices'\]"):
        servable.run("forecast", {"prices": np.zeros((1, window), np.float32)})
    with pytest.raises(KeyError):
        servable.run("no_such_signature", {})
