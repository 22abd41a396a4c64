"""The facade reads TF Serving's models.config as TF Serving does: the same names and labels as the official parser."""

from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from facade.backends.model_config import ModelConfigError, parse_model_config, read_model_config

SHIPPED = Path(__file__).resolve().parents[3] / "serving_config" / "models.config"
LABELLED = """
model_config_list {
  config {
    name: "aapl" base_path: "/models/aapl" model_platform: "tensorflow"
    model_version_policy { latest { num_versions: 2 } }
    version_labels { key: "stable" value: 3 }
    version_labels { key: "canary" value: 4 }
  }
  config { name: "msft" base_path: "/models/msft" model_platform: "tensorflow" }
}
"""


@pytest.mark.parametrize("text", [SHIPPED.read_text(), LABELLED], ids=["shipped", "labelled"])
def test_names_and_labels_agree_with_the_official_messages(text: str) -> None:
    official = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    ours = parse_model_config(text)
    assert ours.names == [c.name for c in official.model_config_list.config]
    assert ours.labels == {c.name: dict(c.version_labels) for c in official.model_config_list.config}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model_config_list { config { name: ", "models.config: "),
        ("model_config_list { }", "lists no model"),
        ('model_config_list { config { name: "a" version_labels { key: "1x" value: 2 } } }', "is not a label"),
        ('model_config_list { config { name: "a" version_labels { key: "beta" value: 0 } } }', "version number >= 1"),
    ],
)
def test_a_broken_config_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ModelConfigError, match=message):
        parse_model_config(text)


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match="cannot read"):
        read_model_config(tmp_path / "missing.config")
