"""Request bodies shared by the Locust users and the benchmark runner: real AAPL closes."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WINDOW = 60


def closes(n: int) -> list[float]:
    """The last ``n`` bundled AAPL closes (real Yahoo data)."""
    lines = (ROOT / "data" / "AAPL.csv").read_text().splitlines()[1:]
    return [float(line.split(",")[4]) for line in lines[-n:]]


def window_length(model: str = "aapl") -> int:
    """The newest version's window, from its metadata when the models folder is at hand."""
    base = Path(os.environ.get("LOADTEST_MODELS_DIR", ROOT / "models")) / model
    versions = sorted((int(p.name) for p in base.glob("*") if p.name.isdigit()), reverse=True)
    for v in versions:
        meta = base / str(v) / "assets.extra" / "metadata.json"
        if meta.is_file():
            return int(json.loads(meta.read_text())["window"])
    return DEFAULT_WINDOW


def csv_upload(n: int) -> bytes:
    lines = (ROOT / "data" / "AAPL.csv").read_text().splitlines()
    rows = [",".join((r.split(",")[0], r.split(",")[4])) for r in lines[-n:]]
    return ("Date,Close\n" + "\n".join(rows) + "\n").encode()
