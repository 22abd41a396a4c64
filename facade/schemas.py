"""Request and response bodies (they become the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.contract import DEFAULT_WINDOW

Price = Annotated[float, Field(allow_inf_nan=False)]

EXAMPLE_PRICES = [
    236.48, 238.59, 238.82, 242.3, 243.85, 243.03, 245.69, 246.75, 247.1, 242.65,
    245.77, 247.4, 248.57, 249.77, 251.04, 252.0, 253.48, 255.27, 254.49, 258.2,
]  # fmt: skip


class PredictRequest(BaseModel):
    """A price history, oldest first, and how many days to forecast."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"prices": list(EXAMPLE_PRICES * 3), "steps": 5, "ticker": "AAPL"}]},
    )

    prices: list[Price] = Field(
        min_length=1,
        description=f"Daily closing prices, oldest first; at least the model's window ({DEFAULT_WINDOW} by default; "
        "GET /models lists each version's).",
    )
    steps: int = Field(default=1, ge=1, description="Days to forecast (1..FACADE_MAX_STEPS).")
    ticker: str | None = Field(
        default=None, max_length=32, description="Which model; the configured default if omitted."
    )

    @field_validator("prices")
    @classmethod
    def positive(cls, prices: list[float]) -> list[float]:
        for i, p in enumerate(prices):
            if p <= 0:
                raise ValueError(f"prices[{i}] must be positive, got {p}")
        return prices


class Timings(BaseModel):
    total_ms: float
    parse_ms: float
    preprocess_ms: float
    inference_ms: float
    postprocess_ms: float


class Band(BaseModel):
    lower: list[float] = Field(description="Lower bound of the interval, one value per day ahead.")
    upper: list[float] = Field(description="Upper bound of the interval, one value per day ahead.")


class PredictResponse(BaseModel):
    ticker: str
    model: str
    version: int
    signature: str
    steps: int
    forecast: list[float] = Field(description="Forecast closes, one per day ahead.")
    intervals: dict[str, Band] = Field(
        description='Prediction intervals by nominal coverage in percent ("80", "95"), calibrated on the '
        'version\'s validation period: the close h days ahead falls inside the "80" band about 80% of the time.'
    )
    last_price: float
    timings: Timings
    request_id: str


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="default", min_length=1, max_length=100, description="A label for the key's owner.")


class KeyInfo(BaseModel):
    id: str
    name: str
    created_at: str
    revoked_at: str | None = None


class NewKey(KeyInfo):
    api_key: str = Field(description="Shown once: store it now, the service keeps only its hash.")


class ErrorBody(BaseModel):
    error: str
    detail: str
    request_id: str | None = None
