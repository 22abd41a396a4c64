from pathlib import Path

import pytest

from common.contract import list_versions, metadata_path
from training.seed import main as seed


@pytest.mark.slow
def test_seed_trains_and_publishes_only_missing_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models, runs = tmp_path / "models", tmp_path / "runs"
    args = [
        "--models-dir",
        str(models),
        "--runs-dir",
        str(runs),
        "--tickers",
        "^BVSP",
        "--epochs",
        "1",
        "--window",
        "20",
    ]
    assert seed(args) == 0
    assert list_versions(models / "bvsp") == [1]
    assert metadata_path(models / "bvsp" / "1").is_file()
    assert seed(args) == 0  # a second start of the trainer does nothing
    assert list_versions(models / "bvsp") == [1]
    assert "already published; skipped" in capsys.readouterr().out
