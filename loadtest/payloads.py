"""Request bodies shared by the Locust users and the benchmark runner: real AAPL closes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WINDOW = 60


def closes(n: int) -> list[float]:
    """The last ``n`` bundled AAPL closes (real Yahoo data)."""
    lines = (ROOT / "data" / "AAPL.csv").read_text().splitlines()[1:]
    return [float(line.split(",")[4]) for line in lines[-n:]]


def newest_metadata(model: str = "aapl") -> dict[str, Any] | None:
    """The newest version's ``metadata.json`` under LOADTEST_MODELS_DIR (default ``models/``), if any."""
    base = Path(os.environ.get("LOADTEST_MODELS_DIR", ROOT / "models")) / model
    for v in sorted((int(p.name) for p in base.glob("*") if p.name.isdigit()), reverse=True):
        meta = base / str(v) / "assets.extra" / "metadata.json"
        if meta.is_file():
            found: dict[str, Any] = json.loads(meta.read_text())
            return found
    return None


def window_length(model: str = "aapl") -> int:
    """The newest version's window; the default when no models folder is at hand."""
    meta = newest_metadata(model)
    return int(meta["window"]) if meta else DEFAULT_WINDOW


def csv_upload(n: int) -> bytes:
    lines = (ROOT / "data" / "AAPL.csv").read_text().splitlines()
    rows = [",".join((r.split(",")[0], r.split(",")[4])) for r in lines[-n:]]
    return ("Date,Close\n" + "\n".join(rows) + "\n").encode()
