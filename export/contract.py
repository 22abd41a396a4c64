"""The serving contract: signature and tensor names, in one place.

Stdlib only: the facade imports these names without TensorFlow.
"""

from __future__ import annotations

DEFAULT_SIGNATURE = "serving_default"
FORECAST_SIGNATURE = "forecast"

# serving_default: scaled window [batch, W, 1] -> next scaled value [batch, 1]
WINDOW_INPUT = "window"
NEXT_OUTPUT = "next"
# forecast: raw prices [batch, W] and steps [batch] -> raw forecast [batch, max(steps)]
PRICES_INPUT = "prices"
STEPS_INPUT = "steps"
FORECAST_OUTPUT = "forecast"

# Upper bound on `steps` accepted by the in-graph forecast loop.
MAX_FORECAST_STEPS = 365

ASSETS_EXTRA = "assets.extra"
METADATA_FILE = "metadata.json"
SCALER_FILE = "scaler.pkl"
WARMUP_FILE = "tf_serving_warmup_requests"


def signature_contract(window: int) -> dict[str, dict[str, dict[str, dict[str, object]]]]:
    """The signatures as ``metadata.json`` describes them (``-1`` is any batch size)."""
    return {
        DEFAULT_SIGNATURE: {
            "inputs": {WINDOW_INPUT: {"dtype": "float32", "shape": [-1, window, 1], "units": "scaled"}},
            "outputs": {NEXT_OUTPUT: {"dtype": "float32", "shape": [-1, 1], "units": "scaled"}},
        },
        FORECAST_SIGNATURE: {
            "inputs": {
                PRICES_INPUT: {"dtype": "float32", "shape": [-1, window], "units": "price"},
                STEPS_INPUT: {"dtype": "int32", "shape": [-1], "range": [1, MAX_FORECAST_STEPS]},
            },
            "outputs": {FORECAST_OUTPUT: {"dtype": "float32", "shape": [-1, -1], "units": "price"}},
        },
    }
