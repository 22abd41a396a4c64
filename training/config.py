"""Training settings, with the defaults the CLI shows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from common.contract import DEFAULT_WINDOW


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run's result."""

    ticker: str = "AAPL"
    start: date = date(2014, 1, 1)
    end: date = date(2024, 12, 31)
    window: int = DEFAULT_WINDOW
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    units: tuple[int, ...] = (64,)
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 6
    seed: int = 42
    horizons: tuple[int, ...] = field(default=(1, 5, 10))
    # Nominal coverages of the calibrated intervals.
    levels: tuple[float, ...] = field(default=(0.8, 0.95))
    # What the heads read; "linear" and "none" are ablations (the export serves "lstm" models).
    features: Literal["lstm", "linear", "none"] = "lstm"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["units"] = list(self.units)
        data["horizons"] = list(self.horizons)
        data["levels"] = list(self.levels)
        return data
