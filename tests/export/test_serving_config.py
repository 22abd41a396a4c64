import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import text_format
from grpc_tools import protoc
from tensorflow_serving.config import model_server_config_pb2

from common.naming import model_name
from export.warmup import WARMUP_BATCHES
from training.collect import BUNDLED

CONFIG = Path(__file__).resolve().parents[2] / "serving_config"
CONTAINER_CONFIG_DIR = "/config"
CONTAINER_MODELS_DIR = "/models"


def flags() -> dict[str, str]:
    out = {}
    for line in (CONFIG / "tfserving.flags").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.strip().partition("=")
            out[name.removeprefix("--")] = value
    return out


@pytest.fixture(scope="module")
def subset_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    out = tmp_path_factory.mktemp("pb")
    proto_dir = Path(__file__).parent / "protos"
    include = Path(protoc.__file__).parent / "_proto"
    # A separate process: grpc_tools' protoc in the same process as TensorFlow crashes.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{proto_dir}",
            f"-I{include}",
            f"--python_out={out}",
            "tfserving_config_subset.proto",
        ],
        check=True,
    )
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("tfserving_config_subset_pb2")
    finally:
        sys.path.remove(str(out))


def test_models_config_parses_as_model_server_config() -> None:
    config = text_format.Parse((CONFIG / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    entries = config.model_config_list.config
    assert {c.name for c in entries} == {model_name(t) for t in BUNDLED}
    for c in entries:
        # Same layout as export: <models dir>/<model>/<N>/, mounted at /models.
        assert c.base_path == f"{CONTAINER_MODELS_DIR}/{model_name(c.name)}"
        assert c.model_platform == "tensorflow"
        assert c.model_version_policy.latest.num_versions == 2


def test_batching_config_parses_and_fits_the_warmup(subset_pb2: ModuleType) -> None:
    params = text_format.Parse((CONFIG / "batching.config").read_text(), subset_pb2.BatchingParameters())
    sizes = list(params.allowed_batch_sizes)
    assert sizes == sorted(sizes) and sizes[-1] == params.max_batch_size.value
    assert params.batch_timeout_micros.value > 0 and params.num_batch_threads.value >= 1
    # Warmup traces exactly the batch sizes batching can form.
    assert set(WARMUP_BATCHES) == set(sizes)


def test_monitoring_config_parses(subset_pb2: ModuleType) -> None:
    monitoring = text_format.Parse((CONFIG / "monitoring.config").read_text(), subset_pb2.MonitoringConfig())
    assert monitoring.prometheus_config.enable
    assert monitoring.prometheus_config.path.startswith("/")


def test_flags_name_the_config_files_and_enable_what_they_configure() -> None:
    f = flags()
    for flag, filename in [
        ("model_config_file", "models.config"),
        ("batching_parameters_file", "batching.config"),
        ("monitoring_config_file", "monitoring.config"),
    ]:
        assert f[flag] == f"{CONTAINER_CONFIG_DIR}/{filename}"
        assert (CONFIG / filename).is_file()
    assert f["enable_batching"] == "true" and f["enable_model_warmup"] == "true"
    assert int(f["file_system_poll_wait_seconds"]) == 1
    assert int(f["model_config_file_poll_wait_seconds"]) > 0
    assert f["port"] != f["rest_api_port"]


def test_a_malformed_config_is_caught() -> None:
    # The check above would catch a typo: the parser rejects unknown fields.
    with pytest.raises(text_format.ParseError):
        text_format.Parse("model_config_list { config { nam: 'x' } }", model_server_config_pb2.ModelServerConfig())
