from datetime import date
from pathlib import Path

import pytest

from common.prices import PriceSeries
from training.collect import load_prices
from training.config import TrainConfig
from training.pipeline import RunResult, train

# A small, fast configuration on real prices: seconds, not minutes.
SMALL = TrainConfig(
    ticker="AAPL", start=date(2019, 1, 1), end=date(2024, 12, 31), window=20, units=(8,), epochs=3, patience=2
)


@pytest.fixture(scope="session")
def aapl_small() -> PriceSeries:
    return load_prices(SMALL.ticker, SMALL.start, SMALL.end)


@pytest.fixture(scope="session")
def small_run(aapl_small: PriceSeries, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return train(aapl_small, SMALL, out_dir=tmp_path_factory.mktemp("run") / "aapl", verbose=0)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
