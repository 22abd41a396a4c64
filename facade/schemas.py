"""Request and response bodies (they become the OpenAPI schema).

Requests are strict: a price is a JSON number (``"1.5"`` and ``true`` are
refused, not coerced), ``steps`` a JSON integer (``"5"``, ``5.0`` and
``true`` are refused). Every limit the facade enforces on a body is a
constraint of its schema, so the OpenAPI document states it:
:func:`bounded_predict_request` narrows :class:`PredictRequest` to the
configured ``FACADE_MAX_STEPS`` and ``FACADE_MAX_PRICES``, and
:mod:`facade.openapi` adds the served windows' ``minItems``. Fields added to
:class:`PredictRequest` are inherited by the bounded model unchanged.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, create_model

from common.contract import DEFAULT_WINDOW, MAX_FORECAST_STEPS
from common.labels import LABEL, LABEL_PATTERN
from common.prices import MAX_PRICE, MIN_PRICE

# What common.naming.model_name turns into a model name: ASCII letters and digits, and the punctuation of
# Yahoo's symbols (^BVSP, PETR4.SA, BRK-B, EURUSD=X), with at least one letter or digit.
TICKER_PATTERN = r"^[A-Za-z0-9.^=_-]*[A-Za-z0-9][A-Za-z0-9.^=_-]*$"
TICKER_MAX_CHARS = 32
_TICKER = re.compile(TICKER_PATTERN)


# What a field's pattern means, for the 422 that refuses a value (pydantic would quote the regex).
PATTERN_HINTS = {
    "ticker": "a ticker: letters, digits and . ^ = _ - only, with at least one letter or digit",
    "date_format": "a date_format: iso, dayfirst, monthfirst or a strptime pattern with % such as %d-%b-%Y",
}


def _known_ticker_shape(value: str) -> str:
    if not _TICKER.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not {PATTERN_HINTS['ticker']}")
    return value


# Checked by pydantic-core itself (no Python call per price: a body holds hundreds); a refusal is worded as
# common.prices.check_price words it (facade.messages).
Price = Annotated[
    float,
    Field(
        strict=True,
        allow_inf_nan=False,
        ge=MIN_PRICE,
        le=MAX_PRICE,
        description=f"A positive price between {MIN_PRICE:.7g} (float32's smallest normal) and {MAX_PRICE:g}",
    ),
]


def _version_choice(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and LABEL.fullmatch(value):
        return value
    shown = f"{value!r}"[:40] if isinstance(value, str) else str(value).lower()[:40]
    raise ValueError(
        "must be a version number (a JSON integer, 1 or more) or a label (a letter, then letters, digits, "
        f"'_', '.' or '-', such as \"stable\"), got {shown}"
    )


# A number or a label, each refused with one sentence (a plain union would report both branches' errors).
VersionChoice = Annotated[
    int | str,
    PlainValidator(_version_choice),
    WithJsonSchema(
        {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": LABEL_PATTERN, "maxLength": 64}]}
    ),
]
Ticker = Annotated[
    str,
    Field(strict=True, max_length=TICKER_MAX_CHARS, json_schema_extra={"pattern": TICKER_PATTERN}),
    AfterValidator(_known_ticker_shape),
]

EXAMPLE_PRICES = [
    236.48, 238.59, 238.82, 242.3, 243.85, 243.03, 245.69, 246.75, 247.1, 242.65,
    245.77, 247.4, 248.57, 249.77, 251.04, 252.0, 253.48, 255.27, 254.49, 258.2,
]  # fmt: skip
PRICES_DOC = (
    "Daily closing prices, oldest first, as JSON numbers; at least the model's window (minItems: the shortest "
    f"window served now; {DEFAULT_WINDOW} unless a model was trained otherwise; GET /models lists each version's). "
    "Only the last window is used."
)


def steps_field(max_steps: int) -> Any:
    """The ``steps`` field, bounded by ``max_steps`` (FACADE_MAX_STEPS)."""
    return Field(default=1, ge=1, le=max_steps, strict=True, description=f"Days to forecast, 1..{max_steps}.")


def prices_field(max_prices: int | None) -> Any:
    """The ``prices`` field, at most ``max_prices`` long (FACADE_MAX_PRICES)."""
    return Field(min_length=1, max_length=max_prices, description=PRICES_DOC)


class PredictRequest(BaseModel):
    """A price history, oldest first, and how many days to forecast."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"prices": list(EXAMPLE_PRICES * 3), "steps": 5, "ticker": "AAPL"}]},
    )

    prices: list[Price] = prices_field(None)
    steps: int = steps_field(MAX_FORECAST_STEPS)
    ticker: Ticker | None = Field(default=None, description="Which model; the configured default if omitted.")
    version: VersionChoice | None = Field(
        default=None,
        description='Which version of the model: a number, or a label such as "stable" or "canary" '
        "(GET /models lists both); the newest available version if omitted. The reply names the version "
        "that answered.",
    )


def bounded_predict_request(*, max_steps: int, max_prices: int) -> type[PredictRequest]:
    """:class:`PredictRequest` with the configured limits as schema constraints (same name in the OpenAPI)."""
    model: type[PredictRequest] = create_model(
        "PredictRequest",
        __base__=PredictRequest,
        __doc__=PredictRequest.__doc__,
        prices=(list[Price], prices_field(max_prices)),
        steps=(int, steps_field(max_steps)),
    )
    return model


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
        'version\'s history before its test period: the close h days ahead falls inside the "80" band about '
        "80% of the time."
    )
    last_price: float
    timings: Timings
    request_id: str


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        default="default", min_length=1, max_length=100, strict=True, description="A label for the key's owner."
    )


class KeyInfo(BaseModel):
    id: str
    name: str
    created_at: str
    revoked_at: str | None = None


class NewKey(KeyInfo):
    api_key: str = Field(description="Shown once: store it now, the service keeps only its hash.")


class ErrorBody(BaseModel):
    error: str = Field(description="A stable code, e.g. invalid_request, unauthorized, rate_limited")
    detail: str = Field(description="What was wrong and where (4xx); a fixed sentence and the request id (5xx)")
    request_id: str | None = None
