import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from common.prices import PriceSeries
from training.collect import load_prices
from training.config import TrainConfig
from training.pipeline import RunResult, train

# The real PostgreSQL and Redis servers' fixtures (postgres_url, redis_url, ...), for every test folder.
pytest_plugins = ["tests.servers"]

# A small, fast configuration on real prices: seconds, not minutes.
SMALL = TrainConfig(
    ticker="AAPL", start=date(2019, 1, 1), end=date(2024, 12, 31), window=20, units=(8,), epochs=3, patience=2
)


@pytest.fixture(autouse=True)
def _hermetic_facade_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set the facade's settings explicitly; FACADE_* variables of the caller must not leak in."""
    for name in [n for n in os.environ if n.startswith("FACADE_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def aapl_small() -> PriceSeries:
    return load_prices(SMALL.ticker, SMALL.start, SMALL.end)


@pytest.fixture(scope="session")
def small_run(aapl_small: PriceSeries, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return train(aapl_small, SMALL, out_dir=tmp_path_factory.mktemp("run") / "aapl", verbose=0)


@pytest.fixture(scope="session")
def other_run(aapl_small: PriceSeries, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """Same data, another seed and width: a model whose forecasts differ from ``small_run``'s."""
    config = replace(SMALL, seed=7, units=(12,), learning_rate=5e-3)
    return train(aapl_small, config, out_dir=tmp_path_factory.mktemp("run") / "aapl-b", verbose=0)


@pytest.fixture(scope="session")
def models_dir(small_run: RunResult, other_run: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with ``aapl`` version 1 (``small_run``) and version 2 (``other_run``)."""
    from export.exporter import export_run

    base = tmp_path_factory.mktemp("models")
    export_run(small_run.run_dir, base)
    export_run(other_run.run_dir, base)
    return base


@pytest.fixture(scope="session")
def grpc_target(models_dir: Path) -> Iterator[str]:
    """The local TF Serving-API server over the session's models folder."""
    from modelserver.grpc_server import serve
    from modelserver.repository import ModelRepository

    repo = ModelRepository(models_dir)
    repo.refresh()
    repo.start_polling(0.2)
    server, port = serve(repo)
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)
    repo.stop()
