import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler

from common.contract import FORECAST, SERVING_DEFAULT, metadata_path
from common.metadata import MetadataError, ScalerParams, VersionMetadata, read_metadata, signature_docs
from tests.factories import interval_tables
from tests.factories import metadata_doc as valid


def write(tmp_path: Path, doc: dict[str, Any] | str) -> Path:
    version_dir = tmp_path / "aapl" / "3"
    metadata_path(version_dir).parent.mkdir(parents=True)
    metadata_path(version_dir).write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return version_dir


@pytest.mark.parametrize("feature_range", [(0.0, 1.0), (-1.0, 1.0), (0.2, 0.8)])
def test_scaler_equals_sklearn_with_its_feature_range(feature_range: tuple[float, float]) -> None:
    prices = np.array([17.1, 30.5, 250.0, 99.9, 400.0]).reshape(-1, 1)
    sk = MinMaxScaler(feature_range=feature_range).fit(prices[:3])
    ours = ScalerParams(feature_range=feature_range, data_min=sk.data_min_[0], data_max=sk.data_max_[0])
    np.testing.assert_allclose(ours.transform(prices[:, 0]), sk.transform(prices)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(ours.inverse(ours.transform(prices[:, 0])), prices[:, 0], rtol=1e-12)


def test_a_valid_version_round_trips(tmp_path: Path) -> None:
    meta = read_metadata(write(tmp_path, valid()), model="aapl", version=3)
    assert (meta.window, meta.scaler.span, meta.metrics.test.mase) == (20, 100.0, 0.99)
    assert meta.metrics.test.model_extra == {"mape": 0.8}  # metrics a later trainer adds are kept
    assert VersionMetadata.model_validate_json(meta.to_json()) == meta


def test_unknown_keys_from_a_later_exporter_are_ignored(tmp_path: Path) -> None:
    assert read_metadata(write(tmp_path, valid(drift_reference={"median": 180.0}))).version == 3


def _drop_tensor(window: int) -> dict[str, Any]:
    sigs = {k: v.model_dump() for k, v in signature_docs(window).items()}
    del sigs[FORECAST.name]["inputs"]["steps"]
    return sigs


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ("{not json", "Invalid JSON"),
        (valid(window=0), "window"),
        (valid(scaler={"data_min": 5.0, "data_max": 5.0}), "must exceed data_min"),
        (valid(scaler={"kind": "StandardScaler", "data_min": 1.0, "data_max": 2.0}), "scaler.kind"),
        (valid(signatures={}), f"signature {SERVING_DEFAULT.name!r} is missing"),
        (valid(signatures={k: v.model_dump() for k, v in signature_docs(60).items()}), "the contract says"),
        (valid(signatures=_drop_tensor(20)), "lacks tensor 'steps'"),
        ({k: v for k, v in valid().items() if k != "scaler"}, "scaler: Field required"),
        (valid(intervals=interval_tables() | {"levels": [0.5, 0.9]}), "are not the contract's (0.8, 0.95)"),
        (valid(intervals=interval_tables() | {"lower": [[-1.0] * 10] * 2}), "2 rows of 365 multipliers"),
        (valid(intervals=interval_tables() | {"upper": interval_tables()["lower"]}), "below its upper one"),
        (valid(intervals=interval_tables() | {"lower": [[float("nan")] * 365] * 2}), "not finite"),
        ({k: v for k, v in valid().items() if k != "intervals"}, "intervals: Field required"),
    ],
    ids=[
        "json",
        "window",
        "scaler-range",
        "scaler-kind",
        "no-sig",
        "wrong-shape",
        "no-tensor",
        "missing",
        "levels",
        "table-shape",
        "crossed",
        "nan",
        "no-intervals",
    ],
)
def test_invalid_metadata_is_refused_with_the_reason(tmp_path: Path, doc: dict[str, Any] | str, reason: str) -> None:
    with pytest.raises(MetadataError, match="does not match the serving contract") as caught:
        read_metadata(write(tmp_path, doc))
    assert reason in str(caught.value)


@pytest.mark.parametrize("schema", [1, 3])
def test_a_version_of_another_metadata_schema_is_refused_with_what_to_do(tmp_path: Path, schema: int) -> None:
    with pytest.raises(MetadataError, match=r"reads schema 2\): publish the training run again"):
        read_metadata(write(tmp_path, valid(schema_version=schema)))


def test_a_version_must_describe_itself(tmp_path: Path) -> None:
    folder = write(tmp_path, valid())
    with pytest.raises(MetadataError, match="describes version 3, not 4"):
        read_metadata(folder, version=4)
    with pytest.raises(MetadataError, match="describes model 'aapl', not 'msft'"):
        read_metadata(folder, model="msft")
    with pytest.raises(MetadataError, match="cannot read"):
        read_metadata(tmp_path / "nowhere")


def test_bounds_add_the_multipliers_times_the_origin_scale() -> None:
    meta = VersionMetadata.model_validate(valid())
    point = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 10.0]])
    lower, upper = meta.intervals.bounds(point, np.array([0.5, 2.0]))
    assert lower.shape == upper.shape == (2, 2, 3)
    table = np.asarray(meta.intervals.lower)
    np.testing.assert_allclose(lower[1, 0], 10.0 + table[0, :3] * 2.0)
    np.testing.assert_allclose(upper[0, 1], point[0] + np.asarray(meta.intervals.upper)[1, :3] * 0.5)
    assert [meta.intervals.label(v) for v in (0.8, 0.95, 0.975)] == ["80", "95", "97.5"]
