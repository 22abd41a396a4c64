"""TF Serving's ``models.config``, read by the facade for the models it serves and their version labels.

The file is the one TF Serving itself polls (``--model_config_file``), mounted
into the facade too, so both read the same labels. It is parsed with the light
messages of ``facade/protos/tfs_lite.proto`` (TF Serving's field names and
numbers), skipping the fields the facade does not need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format

from common.labels import LabelError, check_labels
from facade.protos import tfs_lite_pb2 as pb


class ModelConfigError(ValueError):
    """An unreadable or invalid models.config, with the reason."""


@dataclass(frozen=True)
class ServedModels:
    """Model names in the order the config lists them, and each model's labels."""

    names: list[str]
    labels: dict[str, dict[str, int]] = field(default_factory=dict)


def parse_model_config(text: str, *, where: str = "models.config") -> ServedModels:
    """Parses a text-format ModelServerConfig.

    Raises:
        ModelConfigError: syntax errors, a config without models, or an invalid label.
    """
    config = pb.ModelServerConfig()
    try:
        text_format.Parse(text, config, allow_unknown_field=True)
    except text_format.ParseError as exc:
        raise ModelConfigError(f"{where}: {exc}") from None
    models = config.model_config_list.config
    if not models:
        raise ModelConfigError(f"{where} lists no model (model_config_list is empty)")
    try:
        labels = {m.name: check_labels(dict(m.version_labels), where=f"{where}, model {m.name}") for m in models}
    except LabelError as exc:
        raise ModelConfigError(str(exc)) from None
    return ServedModels([m.name for m in models], labels)


def read_model_config(path: Path) -> ServedModels:
    """Reads and parses ``path``.

    Raises:
        ModelConfigError: unreadable or invalid.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise ModelConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_model_config(text, where=str(path))
