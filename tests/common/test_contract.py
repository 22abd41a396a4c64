"""The contract module is the only place that names signatures, tensors and version files.

The proof: rename every one of them in ``common.contract`` alone, then train,
export, serve through both backends and the gRPC API, and read the version
back as the load tests do. Nothing else may need an edit for that to work.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from common.contract import FORECAST, SERVING_DEFAULT, SIGNATURES, WINDOW_DIM, signature

ROOT = Path(__file__).resolve().parents[2]


def test_shapes_fill_in_the_window() -> None:
    assert SERVING_DEFAULT.inputs[0].concrete_shape(30) == [-1, 30, 1]
    assert FORECAST.output("forecast").concrete_shape(30) == [-1, -1]
    assert WINDOW_DIM in FORECAST.inputs[0].shape
    assert [signature(s.name) for s in SIGNATURES] == list(SIGNATURES)
    with pytest.raises(KeyError, match="no signature 'nope'"):
        signature("nope")


RENAMED = r"""
import dataclasses
import common.contract as c

# Every tensor and signature gets a new name, and every constant that spells one follows it.
tensors = {k: v for k, v in vars(c).items() if isinstance(v, c.TensorSpec)}
renamed = {t.name: dataclasses.replace(t, name="x_" + t.name) for t in tensors.values()}

def rename(spec):
    inputs, outputs = (tuple(renamed[t.name] for t in ts) for ts in (spec.inputs, spec.outputs))
    return c.SignatureSpec("sig_" + spec.name, inputs, outputs)

signature_names = {s.name for s in c.SIGNATURES}
for key, value in list(vars(c).items()):
    if isinstance(value, c.TensorSpec):
        setattr(c, key, renamed[value.name])
    elif isinstance(value, c.SignatureSpec):
        setattr(c, key, rename(value))
    elif key.endswith(("_INPUT", "_OUTPUT")):
        setattr(c, key, renamed[value].name)
    elif key.endswith("_SIGNATURE"):
        assert value in signature_names, key
        setattr(c, key, "sig_" + value)
c.SIGNATURES = tuple(rename(s) for s in c.SIGNATURES)
assert c.FORECAST_SIGNATURE == "sig_forecast" and c.FORECAST.outputs[0].name == "x_forecast"
c.METADATA_FILE = "version.json"
c.WARMUP_FILE = "warmup_records"
c.RUN_METRICS_FILE = "evaluation.json"
c.RUN_FILES = (c.RUN_MODEL_FILE, c.RUN_SCALER_FILE, c.RUN_METRICS_FILE)

import sys
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from common.contract import list_versions, metadata_path, warmup_path
from common.tf_runtime import import_tensorflow
from training.collect import load_prices
from training.config import TrainConfig
from training.pipeline import train

import_tensorflow()
from export.exporter import export_run
from facade.app import create_app
from facade.config import Settings
from loadtest.payloads import newest_metadata
from modelserver.grpc_server import serve
from modelserver.repository import ModelRepository

tmp = Path(sys.argv[1])
config = TrainConfig(ticker="AAPL", start=date(2022, 1, 1), end=date(2024, 12, 31), window=10, units=(4,), epochs=1)
run = train(load_prices("AAPL", config.start, config.end), config, out_dir=tmp / "run", verbose=0)
assert (tmp / "run" / "evaluation.json").is_file()
version_dir = export_run(run.run_dir, tmp / "models")
assert metadata_path(version_dir).name == "version.json" and metadata_path(version_dir).is_file()
assert warmup_path(version_dir).is_file()
assert newest_metadata("aapl", tmp / "models").window == 10

repo = ModelRepository(tmp / "models")
repo.refresh()
assert repo.versions("aapl") == [1]
server, port = serve(repo)
prices = load_prices("AAPL", config.start, config.end).prices[-30:]
for extra in ({"backend": "embedded"}, {"backend": "tfserving", "tfserving_address": f"127.0.0.1:{port}"}):
    for mode, sig in (("graph", "sig_forecast"), ("loop", "sig_serving_default")):
        settings = Settings(
            _env_file=None, admin_token="t" * 32, keys_url=f"sqlite:///{tmp / 'keys.db'}", models_dir=tmp / "models",
            forecast_mode=mode, **extra,
        )
        with TestClient(create_app(settings)) as client:
            key = client.post("/generate_api_key", headers={"x-admin-token": "t" * 32}).json()["api_key"]
            reply = client.post("/predict", headers={"x-api-key": key}, json={"prices": prices, "steps": 3})
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["signature"] == sig and len(body["forecast"]) == 3, body
            models = client.get("/models").json()["models"]
            assert models["aapl"][0]["window"] == 10, models
server.stop(grace=None)
repo.stop()
print("renamed contract served end to end")
"""


@pytest.mark.slow
def test_renaming_in_the_contract_alone_is_enough(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", RENAMED, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "renamed contract served end to end" in proc.stdout
