"""Version labels (``stable``, ``canary``): names clients may ask for instead of a version number.

TF Serving keeps them in ``models.config`` (``version_labels { key: "canary" value: 4 }``).
The embedded runtime reads the same map from ``models/<model>/labels.json``
(``{"stable": 3, "canary": 4}``), written atomically by ``python -m export label``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from common.contract import labels_path

# TF Serving accepts any string; a label here must also not read as a version number.
LABEL_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
LABEL = re.compile(LABEL_PATTERN)


class LabelError(ValueError):
    """A labels file or a label that cannot be used, with the reason."""


def check_labels(raw: object, *, where: str) -> dict[str, int]:
    """Validates a ``{label: version}`` map.

    Raises:
        LabelError: naming the first bad entry.
    """
    if not isinstance(raw, dict):
        raise LabelError(f"{where}: expected an object of label -> version, got {type(raw).__name__}")
    out: dict[str, int] = {}
    for label, version in raw.items():
        if not isinstance(label, str) or not LABEL.match(label):
            raise LabelError(f"{where}: {label!r} is not a label (a letter, then letters, digits, '_', '.', '-')")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise LabelError(f"{where}: label {label!r} must name a version number >= 1, got {version!r}")
        out[label] = version
    return out


def read_labels(model_dir: Path) -> dict[str, int]:
    """The labels of a model folder; ``{}`` when it has no labels file.

    Raises:
        LabelError: unreadable or invalid file.
    """
    path = labels_path(model_dir)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise LabelError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelError(f"{path} is not JSON: {exc.msg} (line {exc.lineno})") from None
    return check_labels(raw, where=str(path))


def write_labels(model_dir: Path, labels: dict[str, int]) -> Path:
    """Replaces a model's labels file in one rename, so a reader never sees half of it."""
    path = labels_path(model_dir)
    text = json.dumps(check_labels(labels, where=str(path)), indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".labels-", dir=model_dir)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
