import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from common.contract import SIGNATURES, metadata_path
from modelserver.repository import ModelRepository

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
