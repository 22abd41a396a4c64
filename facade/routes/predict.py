"""Forecasts from a JSON price history or a CSV upload."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from common.naming import model_name
from common.prices import PriceDataError, parse_price_csv
from facade import drift, service
from facade.deps import ApiKeyDep, BackendDep, JsonContentDep, MetricsDep, SettingsDep
from facade.errors import InvalidInput, PayloadTooLarge
from facade.metrics import Metrics
from facade.openapi import errors
from facade.schemas import Band, PredictRequest, PredictResponse, Timings

router = APIRouter(tags=["forecast"])

ERRORS = errors(401, 404, 422, 429, 502, 503, 504)


async def _respond(
    request: Request,
    backend: BackendDep,
    settings: SettingsDep,
    metrics: Metrics,
    *,
    prices: Sequence[float],
    steps: int,
    ticker: str | None,
    parse_ms: float,
) -> PredictResponse:
    if steps > settings.max_steps:
        raise InvalidInput(f"steps must be between 1 and {settings.max_steps}, got {steps}")
    if len(prices) > settings.max_prices:
        raise InvalidInput(
            f"too many prices: {len(prices)} (at most {settings.max_prices}; only the last window is used)"
        )
    try:
        model = model_name(ticker or settings.default_ticker)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    log = request.state.log
    log.update(model=model, steps=steps)
    result = await service.forecast(backend, model, prices, steps=steps, mode=settings.forecast_mode)
    t = result.timings_ms
    total = (time.perf_counter() - request.state.t0) * 1000
    log.update(version=result.servable.version, signature=result.signature, parse_ms=round(parse_ms, 3))
    log.update({f"{k}_ms": round(v, 3) for k, v in t.items()})
    stages = metrics.stages
    stages["parse"].observe(parse_ms / 1000)
    for stage, ms in t.items():
        stages[stage].observe(ms / 1000)
    metrics.served(model, result.servable.version)
    if result.window is not None:
        drift.observe(metrics, result.servable, result.window, result.forecast)
    return PredictResponse(
        ticker=result.servable.ticker,
        model=model,
        version=result.servable.version,
        signature=result.signature,
        steps=steps,
        forecast=result.forecast,
        intervals={level: Band(lower=lo, upper=hi) for level, (lo, hi) in result.intervals.items()},
        last_price=result.last_price,
        timings=Timings(
            total_ms=round(total, 3),
            parse_ms=round(parse_ms, 3),
            preprocess_ms=round(t["preprocess"], 3),
            inference_ms=round(t["inference"], 3),
            postprocess_ms=round(t["postprocess"], 3),
        ),
        request_id=request.state.request_id,
    )


@router.post("/predict", response_model=PredictResponse, responses={**ERRORS, **errors(415)})
async def predict(
    body: PredictRequest,
    request: Request,
    _key: ApiKeyDep,
    _json: Annotated[None, JsonContentDep],
    backend: BackendDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> PredictResponse:
    """Forecast the next closes from a JSON price history (oldest first)."""
    parse_ms = (time.perf_counter() - request.state.t0) * 1000
    return await _respond(
        request, backend, settings, metrics, prices=body.prices, steps=body.steps, ticker=body.ticker, parse_ms=parse_ms
    )


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # spreadsheets saved in Windows locales


@router.post("/predict_csv", response_model=PredictResponse, responses={**ERRORS, **errors(400)})
async def predict_csv(
    request: Request,
    _key: ApiKeyDep,
    backend: BackendDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    file: Annotated[UploadFile, File(description="CSV: Date,Close; yfinance's to_csv; or ';' with decimal commas")],
    steps: Annotated[int, Form(ge=1, description="Days to forecast")] = 1,
    ticker: Annotated[str | None, Form(max_length=32)] = None,
    column: Annotated[str, Form(max_length=64, description="Price column")] = "Close",
    date_column: Annotated[
        str | None, Form(max_length=64, description="Date column (found by name if omitted)")
    ] = None,
) -> PredictResponse:
    """Forecast the next closes from an uploaded CSV of daily prices."""
    raw = await file.read(settings.max_upload_bytes + 1)
    if len(raw) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the upload is over the {settings.max_upload_bytes}-byte limit")
    try:
        series = parse_price_csv(_decode(raw), column=column, date_column=date_column, allow_descending=True)
    except PriceDataError as exc:
        raise InvalidInput(f"CSV {file.filename or 'upload'}: {exc}") from None
    request.state.log["rows"] = len(series)
    parse_ms = (time.perf_counter() - request.state.t0) * 1000
    return await _respond(
        request, backend, settings, metrics, prices=series.prices, steps=steps, ticker=ticker, parse_ms=parse_ms
    )
