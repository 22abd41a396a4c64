"""The serving contract between a published version and everything that reads it.

One module names what crosses the boundary between training, export, the
model servers, the facade and the load tests:

* the signatures and their tensors (name, dtype, shape, units);
* the limits a served graph enforces;
* the folder conventions of runs and of ``models/<model>/<N>/``.

The typed metadata of a version is :mod:`common.metadata`. Stdlib only, so
the facade's gRPC path reads it without TensorFlow. Nothing else in the
project spells a tensor name, a signature name or a file name of a version.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

# Dimensions in a TensorSpec's shape: any batch size, the version's window, the request's steps.
BATCH = -1
WINDOW_DIM: Literal["window"] = "window"
STEPS_DIM: Literal["steps"] = "steps"
Dim = int | Literal["window", "steps"]


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a signature."""

    name: str
    dtype: Literal["float32", "int32", "bool", "string"]
    shape: tuple[Dim, ...]
    units: str

    def concrete_shape(self, window: int) -> list[int]:
        """The shape with the window filled in (``-1`` for the batch and for ``steps``)."""
        return [window if d == WINDOW_DIM else (d if isinstance(d, int) else BATCH) for d in self.shape]


@dataclass(frozen=True)
class SignatureSpec:
    """A named signature of the SavedModel, as TF Serving exposes it."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @cached_property
    def input_names(self) -> frozenset[str]:
        return frozenset(t.name for t in self.inputs)

    def output(self, name: str) -> TensorSpec:
        for spec in self.outputs:
            if spec.name == name:
                return spec
        raise KeyError(f"signature {self.name!r} has no output {name!r}")


# Nominal coverages of the prediction intervals every version serves, in this order along the levels axis.
INTERVAL_LEVELS = (0.8, 0.95)
N_LEVELS = len(INTERVAL_LEVELS)

# serving_default: scaled windows [batch, W, 1] -> the next scaled value [batch, 1] and the predicted scale of
# the one-day change to it [batch, 1] (> 0), from which intervals are built (common.metadata.Intervals).
WINDOW_TENSOR = TensorSpec("window", "float32", (BATCH, WINDOW_DIM, 1), "scaled")
NEXT_TENSOR = TensorSpec("next", "float32", (BATCH, 1), "scaled")
SCALE_TENSOR = TensorSpec("scale", "float32", (BATCH, 1), "scaled")
# forecast: raw prices [batch, W] and steps [batch] -> raw forecasts [batch, max(steps)], interval bounds
# [batch, levels, max(steps)], and which rows were usable.
PRICES_TENSOR = TensorSpec("prices", "float32", (BATCH, WINDOW_DIM), "price")
STEPS_TENSOR = TensorSpec("steps", "int32", (BATCH,), "days")
FORECAST_TENSOR = TensorSpec("forecast", "float32", (BATCH, STEPS_DIM), "price")
LOWER_TENSOR = TensorSpec("lower", "float32", (BATCH, N_LEVELS, STEPS_DIM), "price")
UPPER_TENSOR = TensorSpec("upper", "float32", (BATCH, N_LEVELS, STEPS_DIM), "price")
VALID_TENSOR = TensorSpec("valid", "bool", (BATCH,), "flag")
# metadata: any int per row -> the version's metadata.json per row. TF Serving's batching refuses a signature
# without inputs ("Batching Run() must have at least one input tensor"), hence the probe.
PROBE_TENSOR = TensorSpec("probe", "int32", (BATCH,), "any")
METADATA_TENSOR = TensorSpec("metadata", "string", (BATCH,), "json")

SERVING_DEFAULT = SignatureSpec("serving_default", inputs=(WINDOW_TENSOR,), outputs=(NEXT_TENSOR, SCALE_TENSOR))
FORECAST = SignatureSpec(
    "forecast",
    inputs=(PRICES_TENSOR, STEPS_TENSOR),
    outputs=(FORECAST_TENSOR, LOWER_TENSOR, UPPER_TENSOR, VALID_TENSOR),
)
METADATA = SignatureSpec("metadata", inputs=(PROBE_TENSOR,), outputs=(METADATA_TENSOR,))
SIGNATURES: tuple[SignatureSpec, ...] = (SERVING_DEFAULT, FORECAST, METADATA)

DEFAULT_SIGNATURE = SERVING_DEFAULT.name
FORECAST_SIGNATURE = FORECAST.name
METADATA_SIGNATURE = METADATA.name
WINDOW_INPUT = WINDOW_TENSOR.name
NEXT_OUTPUT = NEXT_TENSOR.name
SCALE_OUTPUT = SCALE_TENSOR.name
PRICES_INPUT = PRICES_TENSOR.name
STEPS_INPUT = STEPS_TENSOR.name
FORECAST_OUTPUT = FORECAST_TENSOR.name
LOWER_OUTPUT = LOWER_TENSOR.name
UPPER_OUTPUT = UPPER_TENSOR.name
VALID_OUTPUT = VALID_TENSOR.name
PROBE_INPUT = PROBE_TENSOR.name
METADATA_OUTPUT = METADATA_TENSOR.name

# Upper bound on `steps` accepted by the in-graph forecast loop.
MAX_FORECAST_STEPS = 365
# Prices a served graph takes: float32's normal range (below it, 1e-40 say, values are subnormal and lose
# precision; above it they are infinite). A row outside it is reported invalid, never fails its batch.
MIN_PRICE = 1.1754943508222875e-38  # numpy.finfo(numpy.float32).tiny
MAX_PRICE = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max
# The window a new model is trained with unless told otherwise.
DEFAULT_WINDOW = 60

# A training run folder.
RUN_MODEL_FILE = "modelo_lstm.h5"
RUN_SCALER_FILE = "scaler.pkl"
RUN_METRICS_FILE = "metrics.json"
RUN_FILES = (RUN_MODEL_FILE, RUN_SCALER_FILE, RUN_METRICS_FILE)

# A published version folder: models/<model>/<N>/.
SAVED_MODEL_FILE = "saved_model.pb"
# assets.extra/ is for readers of the folder (TF Serving reads its warmup file there); assets/ holds the files
# the graph itself reads: the `metadata` signature returns assets/metadata.json, a copy of assets.extra's.
ASSETS = "assets"
ASSETS_EXTRA = "assets.extra"
METADATA_FILE = "metadata.json"
SCALER_FILE = "scaler.pkl"
WARMUP_FILE = "tf_serving_warmup_requests"
# models/<model>/labels.json: {"stable": 3, "canary": 4}, the embedded runtime's version_labels.
LABELS_FILE = "labels.json"


def signature(name: str) -> SignatureSpec:
    """The contract's signature of that name."""
    for spec in SIGNATURES:
        if spec.name == name:
            return spec
    raise KeyError(f"no signature {name!r} in the serving contract (known: {[s.name for s in SIGNATURES]})")


def list_models(base: Path) -> list[str]:
    """Model folders under a model base folder (hidden folders, like staging ones, excluded)."""
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_versions(model_dir: Path) -> list[int]:
    """Version folders of a model (children named by an integer), ascending, as TF Serving sees them."""
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def is_complete(version_dir: Path) -> bool:
    """True once a version folder holds its SavedModel (publishing renames whole folders, so this is final)."""
    return (version_dir / SAVED_MODEL_FILE).is_file()


def metadata_path(version_dir: Path) -> Path:
    return version_dir / ASSETS_EXTRA / METADATA_FILE


def metadata_asset_path(version_dir: Path) -> Path:
    """The copy of ``metadata.json`` that the ``metadata`` signature reads."""
    return version_dir / ASSETS / METADATA_FILE


def labels_path(model_dir: Path) -> Path:
    return model_dir / LABELS_FILE


def warmup_path(version_dir: Path) -> Path:
    return version_dir / ASSETS_EXTRA / WARMUP_FILE
