"""A version's self-description, ``assets.extra/metadata.json``, as one typed model.

The exporter writes it through :class:`VersionMetadata`; every reader (the
model servers, the facade's backends, the load tests, the export CLI) parses
it through :func:`read_metadata`, so a version whose metadata does not
validate is refused with the reason, never half-loaded. Unknown keys are
ignored, so a reader keeps working when a later exporter adds fields; a
``schema_version`` it does not know is refused.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from common.contract import (
    DEFAULT_SIGNATURE,
    FORECAST_SIGNATURE,
    INTERVAL_LEVELS,
    MAX_FORECAST_STEPS,
    SIGNATURES,
    metadata_path,
)

SCHEMA_VERSION: Literal[2] = 2
ArrayT = TypeVar("ArrayT")


class MetadataError(ValueError):
    """A version's metadata is missing, unreadable or does not match the contract."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ScalerParams(_Model):
    """A fitted MinMaxScaler: ``(x - data_min) / (data_max - data_min) * (hi - lo) + lo``."""

    kind: Literal["MinMaxScaler"] = "MinMaxScaler"
    feature_range: tuple[float, float] = (0.0, 1.0)
    data_min: float = Field(allow_inf_nan=False)
    data_max: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _ranges(self) -> ScalerParams:
        if not self.data_max > self.data_min:
            raise ValueError(f"data_max ({self.data_max}) must exceed data_min ({self.data_min})")
        if not self.feature_range[1] > self.feature_range[0]:
            raise ValueError(f"feature_range {self.feature_range} must be increasing")
        return self

    @property
    def span(self) -> float:
        return self.data_max - self.data_min

    def transform(self, prices: ArrayT) -> ArrayT:
        """Prices to scaled units (floats or NumPy arrays)."""
        lo, hi = self.feature_range
        x: Any = prices
        return cast(ArrayT, (x - self.data_min) / self.span * (hi - lo) + lo)

    def inverse(self, scaled: ArrayT) -> ArrayT:
        """Scaled units back to prices."""
        lo, hi = self.feature_range
        x: Any = scaled
        return cast(ArrayT, (x - lo) / (hi - lo) * self.span + self.data_min)

    @property
    def affine(self) -> tuple[float, float]:
        """``(a, b)`` with ``transform(x) == x * a + b``: two operations instead of four on the request path."""
        lo, hi = self.feature_range
        a = (hi - lo) / self.span
        return a, lo - self.data_min * a


class Intervals(_Model):
    """How a version's prediction intervals are built from its two outputs.

    For an origin window with ``scale`` output ``sigma`` and the point path
    ``p_h`` (``next`` fed back, ``h = 1..steps``), both in scaled units, the
    bounds at level ``levels[l]`` are ``p_h + lower[l][h-1] * sigma`` and
    ``p_h + upper[l][h-1] * sigma``, then unscaled like any price. The tables
    were calibrated on the training run's history before its test period (``method``).
    """

    levels: tuple[float, ...]
    method: str = Field(min_length=1)
    calibrated_horizon: int = Field(ge=1)
    lower: list[list[float]]
    upper: list[list[float]]
    # The tables as arrays, [levels, MAX_FORECAST_STEPS], built once: bounds() runs on every request.
    _tables_array: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _tables(self) -> Intervals:
        if self.levels != INTERVAL_LEVELS:
            raise ValueError(f"levels {self.levels} are not the contract's {INTERVAL_LEVELS}")
        for name, table in (("lower", self.lower), ("upper", self.upper)):
            if len(table) != len(self.levels) or any(len(row) != MAX_FORECAST_STEPS for row in table):
                raise ValueError(f"{name} must be {len(self.levels)} rows of {MAX_FORECAST_STEPS} multipliers")
            if not all(math.isfinite(v) for row in table for v in row):
                raise ValueError(f"{name} holds a value that is not finite")
        for lo_row, hi_row in zip(self.lower, self.upper, strict=True):
            if any(lo >= hi for lo, hi in zip(lo_row, hi_row, strict=True)):
                raise ValueError("every lower multiplier must be below its upper one")
        return self

    @staticmethod
    def label(level: float) -> str:
        """How replies name a level: 0.8 -> "80", 0.975 -> "97.5"."""
        return f"{level * 100:g}"

    @property
    def labels(self) -> list[str]:
        """The levels as replies name them, in table order."""
        return [self.label(level) for level in self.levels]

    def bounds(self, point: ArrayT, sigma: ArrayT) -> tuple[ArrayT, ArrayT]:
        """Scaled bounds ``[n, levels, steps]`` for scaled point paths ``[n, steps]`` and origin scales ``[n]``."""
        import numpy as np

        if self._tables_array is None:
            self._tables_array = np.asarray([self.lower, self.upper], dtype=np.float64)  # [2, levels, steps]
        p = np.asarray(point, dtype=np.float64)
        s = np.asarray(sigma, dtype=np.float64).reshape(-1, 1, 1, 1)
        both = p[:, None, None, :] + self._tables_array[None, :, :, : p.shape[1]] * s  # [n, 2, levels, steps]
        return cast(ArrayT, both[:, 0]), cast(ArrayT, both[:, 1])


class TensorDoc(_Model):
    dtype: str
    shape: list[int]
    units: str


class SignatureDoc(_Model):
    inputs: dict[str, TensorDoc]
    outputs: dict[str, TensorDoc]


class DataInfo(_Model):
    """Rows of the split and their date ranges (when the source had dates)."""

    rows: int
    train_rows: int
    val_rows: int
    test_rows: int
    range: tuple[str, str] | None = None
    train_range: tuple[str, str] | None = None
    val_range: tuple[str, str] | None = None
    test_range: tuple[str, str] | None = None


class PointMetrics(_Model):
    """Test-period metrics of the point forecast (more keys may follow: they are kept)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    mae: float
    rmse: float
    mase: float


class VersionMetrics(_Model):
    test: PointMetrics
    horizons: dict[str, PointMetrics] = Field(default_factory=dict)


class LibraryVersions(_Model):
    training: dict[str, str] = Field(default_factory=dict)
    export: dict[str, str] = Field(default_factory=dict)


class RepublishedFrom(_Model):
    version: int
    path: str


class VersionMetadata(_Model):
    """Everything a reader needs to serve a version correctly."""

    schema_version: Literal[2] = SCHEMA_VERSION
    model: str = Field(min_length=1)
    version: int = Field(ge=1)
    ticker: str = Field(min_length=1)
    window: int = Field(ge=1)
    scaler: ScalerParams
    data: DataInfo
    metrics: VersionMetrics
    training_config: dict[str, Any] = Field(default_factory=dict)
    intervals: Intervals
    signatures: dict[str, SignatureDoc]
    default_signature: str = DEFAULT_SIGNATURE
    forecast_signature: str = FORECAST_SIGNATURE
    max_forecast_steps: int = Field(default=MAX_FORECAST_STEPS, ge=1)
    source_run: str = ""
    created_at: datetime
    versions: LibraryVersions = Field(default_factory=LibraryVersions)
    republished_from: RepublishedFrom | None = None

    @model_validator(mode="after")
    def _matches_contract(self) -> VersionMetadata:
        for spec in SIGNATURES:
            doc = self.signatures.get(spec.name)
            if doc is None:
                raise ValueError(f"signature {spec.name!r} is missing")
            for tensors, docs in ((spec.inputs, doc.inputs), (spec.outputs, doc.outputs)):
                for tensor in tensors:
                    found = docs.get(tensor.name)
                    if found is None:
                        raise ValueError(f"signature {spec.name!r} lacks tensor {tensor.name!r}")
                    if found.dtype != tensor.dtype or found.shape != tensor.concrete_shape(self.window):
                        raise ValueError(
                            f"tensor {tensor.name!r} of {spec.name!r} is {found.dtype}{found.shape}, the contract "
                            f"says {tensor.dtype}{tensor.concrete_shape(self.window)}"
                        )
        return self

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"


def signature_docs(window: int) -> dict[str, SignatureDoc]:
    """The contract's signatures for a window, as the metadata describes them (``-1``: any size)."""
    return {
        spec.name: SignatureDoc(
            inputs={
                t.name: TensorDoc(dtype=t.dtype, shape=t.concrete_shape(window), units=t.units) for t in spec.inputs
            },
            outputs={
                t.name: TensorDoc(dtype=t.dtype, shape=t.concrete_shape(window), units=t.units) for t in spec.outputs
            },
        )
        for spec in SIGNATURES
    }


def parse_metadata(raw: str | bytes | dict[str, Any], *, where: str = "metadata") -> VersionMetadata:
    """Validates metadata from JSON text or a dict.

    Raises:
        MetadataError: naming the first problems found.
    """
    try:
        if isinstance(raw, dict):
            return VersionMetadata.model_validate(raw)
        return VersionMetadata.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["loc"] == ("schema_version",) for err in exc.errors()):
            raise MetadataError(
                f"{where} has a metadata schema this release does not read (it reads schema {SCHEMA_VERSION}): "
                "publish the training run again with this release's exporter"
            ) from None
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'metadata'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise MetadataError(f"{where} does not match the serving contract: {problems}") from None


def read_metadata(version_dir: Path, *, model: str | None = None, version: int | None = None) -> VersionMetadata:
    """Reads and validates a version folder's ``metadata.json``.

    Args:
        version_dir: ``models/<model>/<N>``.
        model: when given, the metadata must name this model.
        version: when given, the metadata must carry this version number.

    Raises:
        MetadataError: the file is missing, unreadable, invalid, or names another model or version.
    """
    path = metadata_path(version_dir)
    try:
        text = path.read_text()
    except OSError as exc:
        raise MetadataError(f"cannot read {path}: {exc.strerror or exc}") from None
    meta = parse_metadata(text, where=str(path))
    if model is not None and meta.model != model:
        raise MetadataError(f"{path} describes model {meta.model!r}, not {model!r}")
    if version is not None and meta.version != version:
        raise MetadataError(f"{path} describes version {meta.version}, not {version}")
    return meta
