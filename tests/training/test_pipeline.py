import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from common.prices import PriceSeries
from tests.conftest import SMALL
from training import artifacts
from training.config import TrainConfig
from training.pipeline import RunResult, train
from training.windows import make_windows

pytestmark = pytest.mark.slow


def test_run_folder_holds_every_artifact(small_run: RunResult) -> None:
    names = {p.name for p in small_run.run_dir.iterdir()}
    assert {"modelo_lstm.h5", "scaler.pkl", "metrics.json", "test_predictions.png", "loss.png"} <= names
    for png in ("test_predictions.png", "loss.png"):
        assert (small_run.run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_file_records_what_a_reader_needs(small_run: RunResult) -> None:
    m = json.loads((small_run.run_dir / "metrics.json").read_text())
    assert m["ticker"] == "AAPL" and m["model"] == "aapl"
    assert m["config"]["window"] == 20 and m["config"]["seed"] == 42
    assert set(m["test"]) >= {"mae", "rmse", "mape", "mase", "baseline_mae", "baseline_rmse", "baseline_mape"}
    assert set(m["horizons"]) == {"1", "5", "10"}
    assert m["data"]["range"] == ["2019-01-02", "2024-12-31"]
    assert m["data"]["train_range"][1] < m["data"]["val_range"][0] < m["data"]["test_range"][0]
    assert {"tensorflow", "keras", "numpy", "scikit-learn"} <= set(m["versions"])
    assert 0.0 <= m["training"]["head_shrinkage"] <= 1.0
    # Horizon 1 of the recursive forecast is the one-step forecast.
    assert m["horizons"]["1"]["mae"] == pytest.approx(m["test"]["mae"])


def test_h5_round_trip_reproduces_the_trained_models_metrics(small_run: RunResult, aapl_small: PriceSeries) -> None:
    scaler = artifacts.load_scaler(small_run.run_dir)
    model = artifacts.load_model(small_run.run_dir)
    scaled = scaler.transform(np.asarray(aapl_small.prices).reshape(-1, 1))[:, 0]
    # The saved metrics were computed with the in-memory model; the reloaded one reproduces them.
    test_rows = range(len(scaled) - small_run.metrics["training"]["windows"]["test"], len(scaled))
    xt, _ = make_windows(scaled, test_rows, window=SMALL.window)
    predicted = scaler.inverse_transform(model.predict(xt.astype(np.float32), verbose=0)["next"])[:, 0]
    actual = np.asarray(aapl_small.prices)[test_rows.start :]
    assert np.mean(np.abs(predicted - actual)) == pytest.approx(small_run.metrics["test"]["mae"], rel=1e-6)


def test_same_data_and_seed_give_the_same_metrics(
    small_run: RunResult, aapl_small: PriceSeries, tmp_path: Path
) -> None:
    again = train(aapl_small, SMALL, out_dir=tmp_path / "again", verbose=0)
    assert again.metrics["test"]["mae"] == pytest.approx(small_run.metrics["test"]["mae"], rel=1e-6)
    assert again.metrics["horizons"]["10"]["mae"] == pytest.approx(small_run.metrics["horizons"]["10"]["mae"], rel=1e-6)


def test_scaler_is_fit_on_training_rows_only(small_run: RunResult, aapl_small: PriceSeries) -> None:
    train_rows = small_run.metrics["data"]["train_rows"]
    scaler = artifacts.load_scaler(small_run.run_dir)
    assert scaler.data_max_[0] == max(aapl_small.prices[:train_rows])
    assert scaler.data_max_[0] < max(aapl_small.prices)  # AAPL's later highs stay unseen


def test_default_model_does_not_lose_to_persistence(tmp_path: Path) -> None:
    """Behavioural: the full default configuration on AAPL matches or beats tomorrow = today."""
    from training.collect import load_prices

    config = TrainConfig()
    series = load_prices(config.ticker, config.start, config.end)
    result = train(series, replace(config), out_dir=tmp_path / "full", verbose=0)
    assert result.metrics["test"]["mase"] <= 1.0


def test_metrics_score_intervals_against_both_baselines(small_run: RunResult) -> None:
    m = json.loads((small_run.run_dir / "metrics.json").read_text())
    scores = m["interval_scores"]
    assert scores["levels"] == [0.8, 0.95]
    assert set(scores["horizons"]) == {"1", "5", "10"}
    for h, by_method in scores["horizons"].items():
        assert set(by_method) == {"model", "unconditional", "ewma"}
        for s in by_method.values():
            assert s["n"] == m["horizons"][h]["n"]
            assert 0.0 <= s["80"]["coverage"] <= s["95"]["coverage"] <= 1.0
            assert 0 < s["80"]["width"] < s["95"]["width"]
            assert s["80"]["winkler"] >= s["80"]["width"] and s["pinball"] > 0
    # The model's bands widen with the horizon.
    widths = [scores["horizons"][h]["model"]["80"]["width"] for h in ("1", "5", "10")]
    assert widths == sorted(widths)
    assert 0.0 <= m["training"]["scale_shrinkage"] <= 1.0


def test_loss_curves_start_before_training_and_move(small_run: RunResult) -> None:
    history = small_run.metrics["training"]["history"]
    assert {"loss", "next_loss", "scale_loss", "val_loss", "val_next_loss", "val_scale_loss"} <= set(history)
    assert all(len(v) == small_run.metrics["training"]["epochs_run"] + 1 for v in history.values())
    # Training improves the likelihood over the untrained network (the EWMA scale), and the point
    # loss is not flat to the fourth digit.
    assert min(history["scale_loss"][1:]) < history["scale_loss"][0] - 1e-3
    mse = np.array(history["next_loss"])
    assert np.max(np.abs(mse[1:] / mse[0] - 1)) > 1e-4


def test_cli_summary_shows_intervals_and_baselines(small_run: RunResult) -> None:
    from training.cli import format_summary

    text = format_summary(small_run.metrics, small_run.run_dir)
    assert "cover 80" in text and "cover 95" in text and "pinball" in text
    for name in ("LSTM", "unconditional", "EWMA"):
        assert text.count(name) >= 3  # one row per horizon


def test_report_tables_list_every_horizon_and_method(small_run: RunResult) -> None:
    from training.report import interval_table, score_ratio, skill_summary

    table = interval_table([small_run.metrics])
    assert table.count("| AAPL |") == 9  # 3 horizons x (model + 2 baselines)
    h1 = small_run.metrics["interval_scores"]["horizons"]["1"]
    assert score_ratio(h1, "ewma", "ewma") == pytest.approx(1.0)
    assert "h=1" in skill_summary([small_run.metrics])
