"""Request bodies shared by the Locust users and the benchmark runner: real AAPL closes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from common.contract import list_versions
from common.metadata import VersionMetadata, read_metadata
from common.prices import PriceSeries, parse_price_csv

ROOT = Path(__file__).resolve().parent.parent
# Closes beyond the window, as a client with some history would send (the facade uses the last `window`).
EXTRA_HISTORY = 20


@cache
def _bundled() -> PriceSeries:
    return parse_price_csv((ROOT / "data" / "AAPL.csv").read_text())


def closes(n: int) -> list[float]:
    """The last ``n`` bundled AAPL closes (real Yahoo data)."""
    return _bundled().prices[-n:]


def newest_metadata(model: str, base: Path) -> VersionMetadata | None:
    """The newest version's validated metadata in the models folder ``base``, if it has one."""
    model_dir = base / model
    versions = list_versions(model_dir)
    return read_metadata(model_dir / str(versions[-1])) if versions else None


def csv_upload(n: int) -> bytes:
    """The last ``n`` bundled closes as a ``Date,Close`` upload."""
    series = _bundled()
    assert series.dates is not None
    rows = [f"{d.isoformat()},{p}" for d, p in zip(series.dates[-n:], series.prices[-n:], strict=True)]
    return ("Date,Close\n" + "\n".join(rows) + "\n").encode()
