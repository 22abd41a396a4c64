import numpy as np
import pytest

from common.prices import PriceDataError
from training.windows import chronological_split, fit_scaler, make_windows


def test_split_is_chronological_and_covers_every_row() -> None:
    split = chronological_split(1000, window=60, val_fraction=0.15, test_fraction=0.15)
    parts = split.parts
    assert parts["train"] == range(0, 700)
    assert parts["val"] == range(700, 850)
    assert parts["test"] == range(850, 1000)


def test_scaler_never_sees_validation_or_test_values() -> None:
    # Later parts hold values far outside the training range.
    prices = np.concatenate([np.linspace(10, 20, 700), np.full(150, 500.0), np.full(150, 1000.0)])
    split = chronological_split(len(prices), window=60, val_fraction=0.15, test_fraction=0.15)
    scaler = fit_scaler(prices, split)
    assert scaler.data_min_[0] == 10 and scaler.data_max_[0] == 20
    # Test prices above the training maximum scale above 1; nothing clips them.
    assert scaler.transform([[1000.0]])[0, 0] == pytest.approx(99.0)


def test_training_windows_hold_no_target_or_input_from_later_parts() -> None:
    series = np.arange(1000, dtype=np.float64)  # each value is its own row index
    split = chronological_split(1000, window=60, val_fraction=0.15, test_fraction=0.15)
    x, y = make_windows(series, split.parts["train"], window=60)
    assert x.max() < split.train_end and y.max() < split.train_end
    _xv, yv = make_windows(series, split.parts["val"], window=60)
    assert yv.min() == split.train_end and yv.max() == split.val_end - 1


def test_window_shape_and_alignment() -> None:
    series = np.arange(200, dtype=np.float64)
    x, y = make_windows(series, range(0, 200), window=60)
    assert x.shape == (140, 60, 1) and y.shape == (140, 1)
    # Window i covers rows [t-60, t) and its target is row t.
    assert list(x[0, :, 0]) == list(range(60)) and y[0, 0] == 60
    assert x[-1, -1, 0] == 198 and y[-1, 0] == 199


def test_too_short_a_history_is_rejected() -> None:
    with pytest.raises(PriceDataError, match="too few"):
        chronological_split(80, window=60, val_fraction=0.15, test_fraction=0.15)


def test_bad_fractions_are_rejected() -> None:
    with pytest.raises(PriceDataError, match="fractions"):
        chronological_split(1000, window=60, val_fraction=0.6, test_fraction=0.5)
