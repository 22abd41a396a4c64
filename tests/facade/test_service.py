"""The forecast use case's arithmetic: the one-step path in floats gives the array path's numbers exactly."""

from pathlib import Path

import numpy as np
import pytest

from common.metadata import read_metadata
from facade.errors import InvalidInput
from facade.service import _checked_rows, _one_step_rows


def test_one_step_in_floats_equals_the_array_path_to_the_last_bit(models_dir: Path) -> None:
    meta = read_metadata(models_dir / "aapl" / "1")
    a, b = meta.scaler.affine
    rng = np.random.default_rng(7)
    # Scaled values as the model returns them (float32), from ordinary to far outside the training range.
    points = np.concatenate([rng.uniform(-0.5, 1.5, 500), rng.uniform(-1e6, 1e6, 100)]).astype(np.float32)
    sigmas = rng.uniform(1e-5, 0.2, points.size).astype(np.float32)
    for point, sigma in zip(points, sigmas, strict=True):
        values = np.array([[point]], dtype=np.float32)
        lower, upper = meta.intervals.bounds(values, np.array([sigma], dtype=np.float32))
        lines = np.concatenate([values[0][np.newaxis, :], lower[0], upper[0]]).astype(np.float64)
        expected = _checked_rows((lines - b) / a, meta.scaler)
        assert _one_step_rows(float(point), float(sigma), meta.intervals, a, b) == expected


def test_an_overflowing_one_step_answer_is_refused_like_any_other(models_dir: Path) -> None:
    meta = read_metadata(models_dir / "aapl" / "1")
    a, b = meta.scaler.affine
    rows = _one_step_rows(float("inf"), 0.01, meta.intervals, a, b)
    assert all(np.isnan(row[0]) for row in rows)
    with pytest.raises(InvalidInput, match="overflows float32"):
        _checked_rows(np.array(rows), meta.scaler)
