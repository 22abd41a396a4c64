"""A version's MinMax scaling, from its ``metadata.json`` (no scikit-learn)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class MinMax:
    """sklearn's MinMaxScaler with feature_range (0, 1): ``(x - data_min) / (data_max - data_min)``."""

    data_min: float
    data_max: float

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> MinMax:
        scaler = metadata["scaler"]
        return cls(float(scaler["data_min"]), float(scaler["data_max"]))

    def transform(self, prices: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return (prices - self.data_min) / (self.data_max - self.data_min)

    def inverse(self, scaled: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return scaled * (self.data_max - self.data_min) + self.data_min
