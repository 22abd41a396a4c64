from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from common.prices import PriceDataError, PriceSeries
from tests.conftest import SMALL
from training.backtest import make_folds, run_fold, summarise


def weekdays(start: date, end: date) -> list[date]:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return [d for d in days if d.weekday() < 5]


def test_folds_test_on_one_year_and_train_before_it() -> None:
    dates = weekdays(date(2015, 1, 1), date(2020, 12, 31))
    folds = make_folds(dates, (2018, 2019, 2020), window=20, val_days=100)
    assert [f.year for f in folds] == [2018, 2019, 2020]
    for fold in folds:
        s = fold.split
        test_days = dates[s.val_end : s.n]
        assert {d.year for d in test_days} == {fold.year}
        assert len(test_days) == sum(d.year == fold.year for d in dates)
        # Validation is the 100 rows just before the test year; training ends before both.
        assert s.val_end - s.train_end == 100
        assert dates[s.val_end - 1] < date(fold.year, 1, 1) <= dates[s.val_end]
        assert s.train_end < s.val_end <= s.n


def test_folds_need_their_year_and_history() -> None:
    dates = weekdays(date(2015, 1, 1), date(2016, 12, 31))
    with pytest.raises(PriceDataError, match="no prices in 2019"):
        make_folds(dates, (2019,), window=20, val_days=100)
    with pytest.raises(PriceDataError, match="too little history"):
        make_folds(dates, (2016,), window=200, val_days=100)


def scores(coverage: float, winkler: float, n: int) -> dict[str, object]:
    level = {"coverage": coverage, "width": 1.0, "winkler": winkler}
    return {"80": level, "pinball": winkler / 10, "n": n}


def test_pooled_figures_weight_folds_by_their_days() -> None:
    methods = ("model", "unconditional", "ewma")
    folds = [
        {"mase": {"1": 1.0}, "intervals": {"1": {m: scores(0.9, 2.0, 100) for m in methods}}},
        {"mase": {"1": 0.98}, "intervals": {"1": {m: scores(0.6, 5.0, 300) for m in methods}}},
    ]
    summary = summarise(folds, (0.8,))
    cov = summary["intervals"]["1"]["model"]["80"]["coverage"]
    assert cov["pooled"] == pytest.approx((0.9 * 100 + 0.6 * 300) / 400)
    assert cov["mean"] == pytest.approx(0.75) and cov["std"] == pytest.approx(np.std([0.9, 0.6], ddof=1))
    assert summary["intervals"]["1"]["model"]["80"]["winkler"]["pooled"] == pytest.approx((200 + 1500) / 400)
    assert summary["mase"]["1"]["mean"] == pytest.approx(0.99)
    assert summary["intervals"]["1"]["model"]["n"] == 400


@pytest.mark.slow
def test_a_fold_never_learns_from_its_test_year(aapl_small: PriceSeries) -> None:
    config = replace(SMALL, epochs=2, units=(4,))
    assert aapl_small.dates
    (fold,) = make_folds(list(aapl_small.dates), (2024,), window=config.window, val_days=120)
    prices = np.asarray(aapl_small.prices, dtype=np.float64)
    shocked = prices.copy()
    shocked[fold.split.val_end :] *= np.linspace(0.5, 3.0, prices.size - fold.split.val_end)
    result, fitted = run_fold(prices, fold, config)
    shocked_result, shocked_fitted = run_fold(shocked, fold, config)
    # Same weights and the same calibration, whatever the test year holds ...
    for a, b in zip(fitted.model.get_weights(), shocked_fitted.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fitted.calibration.upper, shocked_fitted.calibration.upper)
    # ... while the scores, computed on the test year, see the difference.
    assert result["mase"]["1"] != shocked_result["mase"]["1"]
    assert result["rows"]["test"] == sum(d.year == 2024 for d in aapl_small.dates)
