"""Forecasts from a JSON price history or a CSV upload.

The routes are built per app (:func:`make_router`) because their schemas
carry the configured limits: ``steps`` up to ``FACADE_MAX_STEPS``, at most
``FACADE_MAX_PRICES`` prices or CSV rows, the CSV's columns and field length.
"""

# No `from __future__ import annotations`: the JSON route's body type is built per app, and FastAPI must see
# the class itself in the signature, not a name it cannot resolve.
import logging
import time
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BeforeValidator
from pydantic_core import to_json
from starlette.responses import Response

from common.labels import LABEL_PATTERN
from common.naming import model_name
from common.prices import DATE_FORMAT_NAMES, CsvLimits, PriceDataError, decode_upload, parse_price_csv
from facade import drift, service
from facade.backends.base import VersionRequest
from facade.config import Settings
from facade.deps import (
    ApiKeyDep,
    BackendDep,
    JsonContentDep,
    MetricsDep,
    SettingsDep,
    authenticate,
    check_json_content,
)
from facade.errors import InvalidInput, PayloadTooLarge
from facade.metrics import Metrics
from facade.middleware import Handler, access_log
from facade.openapi import errors
from facade.routes.json_body import JsonBody, fast_route
from facade.schemas import (
    TICKER_MAX_CHARS,
    TICKER_PATTERN,
    PredictResponse,
    bounded_predict_request,
)

ERRORS = errors(401, 404, 422, 429, 502, 503, 504)
# Empty (the default), a name the parser knows, or a strptime pattern (it has a %).
DATE_FORMAT_PATTERN = rf"^(?:{'|'.join(DATE_FORMAT_NAMES)}|[^\n\r]*%[^\n\r]*)?$"
# A version number (digits, not 0), a label, or empty for the newest available version.
VERSION_FORM_PATTERN = f"^(?:[1-9][0-9]{{0,9}}|{LABEL_PATTERN.removeprefix('^').removesuffix('$')})?$"
# A ticker, or empty for the default model.
TICKER_FORM_PATTERN = f"^(?:{TICKER_PATTERN.removeprefix('^').removesuffix('$')})?$"


def _digits(value: object) -> object:
    # Form values are text: "5" is an integer, "5.0", "5_0" and " 5" are not (pydantic's lax parsing takes them).
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError(f"steps must be a whole number of days written in digits, got {value[:20]!r}")
    return value


async def _respond(
    request: Request,
    backend: BackendDep,
    settings: Settings,
    metrics: Metrics,
    *,
    prices: Sequence[float],
    steps: int,
    ticker: str | None,
    version: VersionRequest,
    parse_ms: float,
) -> Response:
    try:
        model = model_name(ticker or settings.default_ticker)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    # The access log's fields, only when its line is written (it is the only reader).
    log = request.state.log if access_log.isEnabledFor(logging.INFO) else None
    if log is not None:
        log.update(model=model, steps=steps)
        if version is not None:
            log["asked_version"] = version
    result = await service.forecast(backend, model, prices, steps=steps, mode=settings.forecast_mode, version=version)
    t = result.timings_ms
    total = (time.perf_counter() - request.state.t0) * 1000
    if log is not None:
        log.update(version=result.servable.version, signature=result.signature, parse_ms=round(parse_ms, 3))
        log.update({f"{k}_ms": round(v, 3) for k, v in t.items()})
    stages = metrics.stages
    stages["parse"].observe(parse_ms / 1000)
    for stage, ms in t.items():
        stages[stage].observe(ms / 1000)
    metrics.served(model, result.servable.version)
    drift.observe(metrics, result.servable, result.window_range, result.last_price, result.forecast)
    # A PredictResponse written out directly: the route's response_model documents it (a test checks the two
    # agree); building and re-validating the model per request cost more than the forecast's own bookkeeping.
    body = {
        "ticker": result.servable.ticker,
        "model": model,
        "version": result.servable.version,
        "signature": result.signature,
        "steps": steps,
        "forecast": result.forecast,
        "intervals": {level: {"lower": lo, "upper": hi} for level, (lo, hi) in result.intervals.items()},
        "last_price": result.last_price,
        "timings": {
            "total_ms": round(total, 3),
            "parse_ms": round(parse_ms, 3),
            "preprocess_ms": round(t["preprocess"], 3),
            "inference_ms": round(t["inference"], 3),
            "postprocess_ms": round(t["postprocess"], 3),
        },
        "request_id": request.state.request_id,
    }
    return Response(to_json(body), media_type="application/json")


def make_router(settings: Settings, *, direct: dict[tuple[str, str], Handler] | None = None) -> APIRouter:
    """``POST /predict`` and ``POST /predict_csv`` with ``settings``' limits in their schemas.

    Args:
        settings: the app's settings.
        direct: filled with ``POST /predict``'s handler, for the middleware to answer it directly.
    """
    # Starlette's own multipart limits: one file, a handful of fields, short field values (the file itself is
    # bounded by FACADE_MAX_UPLOAD_BYTES). Past them the answer is a 400 naming the limit.
    router = APIRouter(tags=["forecast"], form_limits={"max_files": 1, "max_fields": 16, "max_part_size": 4096})
    body_model = bounded_predict_request(max_steps=settings.max_steps, max_prices=settings.max_prices)
    csv_limits = CsvLimits(
        max_rows=settings.max_prices,
        max_columns=settings.csv_max_columns,
        max_field_chars=settings.csv_max_field_chars,
    )
    steps_doc = f"Days to forecast, 1..{settings.max_steps}, in digits"

    async def predict_json(request: Request) -> Response:
        # The checks of the documented signature below, in FastAPI's order: the body is decoded first (JSON
        # that does not parse is a 422 before anything else), then the key, the content type, the body's fields.
        body = await JsonBody.read(request, body_model)
        state = request.app.state
        await authenticate(request, state.keys, state.limits, request.headers.get("x-api-key"))
        check_json_content(request)
        payload = body.validated(body_model)
        parse_ms = (time.perf_counter() - request.state.t0) * 1000
        return await _respond(
            request,
            state.backend,
            settings,
            state.metrics,
            prices=payload.prices,
            steps=payload.steps,
            ticker=payload.ticker,
            version=payload.version,
            parse_ms=parse_ms,
        )

    if direct is not None:
        direct[("POST", "/predict")] = predict_json
    json_router = APIRouter(route_class=fast_route(predict_json))

    @json_router.post("/predict", response_model=PredictResponse, responses={**ERRORS, **errors(415)})
    async def predict(
        body: body_model,  # type: ignore[valid-type]  # built from the settings above
        _key: ApiKeyDep,
        _json: Annotated[None, JsonContentDep],
    ) -> PredictResponse:
        """Forecast the next closes from a JSON price history (oldest first)."""
        raise AssertionError("documents the route only: predict_json answers it")

    router.include_router(json_router)

    @router.post("/predict_csv", response_model=PredictResponse, responses={**ERRORS, **errors(400)})
    async def predict_csv(
        request: Request,
        _key: ApiKeyDep,
        backend: BackendDep,
        app_settings: SettingsDep,
        metrics: MetricsDep,
        file: Annotated[
            UploadFile,
            File(
                description=f"CSV text of daily prices, at most {settings.max_upload_bytes} bytes, "
                f"{settings.max_prices} data rows, {settings.csv_max_columns} columns and "
                f"{settings.csv_max_field_chars} characters a field: Date,Close; yfinance's to_csv; "
                "';' with decimal commas; UTF-8 (BOM or not), UTF-16 with a BOM or cp1252"
            ),
        ],
        steps: Annotated[int, Form(ge=1, le=settings.max_steps, description=steps_doc), BeforeValidator(_digits)] = 1,
        # Optional text fields default to "" rather than None: a form has no null (an empty field means the default).
        ticker: Annotated[
            str,
            Form(
                max_length=TICKER_MAX_CHARS,
                pattern=TICKER_FORM_PATTERN,
                description="Which model; the configured default if empty or omitted",
            ),
        ] = "",
        column: Annotated[str, Form(max_length=64, description="Price column")] = "Close",
        date_column: Annotated[
            str, Form(max_length=64, description="Date column (found by name if empty or omitted)")
        ] = "",
        date_format: Annotated[
            str,
            Form(
                max_length=48,
                pattern=DATE_FORMAT_PATTERN,
                description="How the dates are written when the column leaves it open: iso, dayfirst, monthfirst "
                "or a strptime pattern such as %d-%b-%Y. Decided from the whole column if empty or omitted.",
            ),
        ] = "",
        version: Annotated[
            str,
            Form(
                max_length=64,
                pattern=VERSION_FORM_PATTERN,
                description="Which version: a number or a label (stable, canary); the newest available if empty",
            ),
        ] = "",
    ) -> Response:
        """Forecast the next closes from an uploaded CSV of daily prices."""
        limit = app_settings.max_upload_bytes
        raw = await file.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"the upload is over the {limit}-byte limit")
        name = file.filename or "upload"
        try:
            series = parse_price_csv(
                decode_upload(raw),
                column=column,
                date_column=date_column or None,
                date_format=date_format or None,
                allow_descending=True,
                limits=csv_limits,
            )
        except PriceDataError as exc:
            raise InvalidInput(f"CSV {name[:80]}: {exc}") from None
        request.state.log["rows"] = len(series)
        parse_ms = (time.perf_counter() - request.state.t0) * 1000
        return await _respond(
            request,
            backend,
            settings,
            metrics,
            prices=series.prices,
            steps=steps,
            ticker=ticker or None,
            version=(int(version) if version.isdigit() else version) or None,
            parse_ms=parse_ms,
        )

    return router
