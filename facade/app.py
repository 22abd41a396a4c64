"""The app factory: ``create_app(settings)``; ``app_factory`` for uvicorn's workers."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from facade import logging_setup
from facade.backends import make_backend
from facade.config import Settings, get_settings
from facade.errors import FacadeError, ModelUnavailable
from facade.keystore import make_key_store
from facade.messages import describe_validation_errors, unreadable_json
from facade.metrics import Metrics
from facade.middleware import Handler, HttpLimits, RequestContextMiddleware
from facade.openapi import install as install_openapi
from facade.ratelimit import RateLimits
from facade.routes import health, keys, predict

logger = logging.getLogger(__name__)
# Allocations (less deallocations) between two collections of the young generation, once the app is loaded.
GC_YOUNG_THRESHOLD = 20_000

DESCRIPTION = """
Forecasts of daily closing prices from an LSTM served by TensorFlow Serving.

1. An operator mints a key: `POST /generate_api_key` with the `x-admin-token` header.
2. Clients send it as `x-api-key` to `POST /predict` (JSON) or `POST /predict_csv` (upload).
"""


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def _error_body(request: Request, code: str, detail: str) -> dict[str, str | None]:
    return {"error": code, "detail": detail, "request_id": getattr(request.state, "request_id", None)}


def _register_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(FacadeError)
    async def facade_error(request: Request, exc: FacadeError) -> JSONResponse:
        metrics.errors.labels(type(exc).__name__).inc()
        request.state.log["error"] = exc.detail
        headers = dict(exc.headers or {})
        if isinstance(exc, ModelUnavailable):
            headers.setdefault("Retry-After", "1")
        detail = exc.detail
        if exc.status >= 500:
            # Backend addresses and TensorFlow's messages stay in the log; the request id links the two.
            request_id = getattr(request.state, "request_id", None)
            logger.warning("%s: %s", type(exc).__name__, exc.detail, extra={"request_id": request_id})
            detail = f"{exc.public} (request id {request_id})"
        return JSONResponse(_error_body(request, exc.code, detail), status_code=exc.status, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels("InvalidRequest").inc()
        detail = describe_validation_errors(exc.errors())
        request.state.log["error"] = detail
        return JSONResponse(_error_body(request, "invalid_request", detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError | RecursionError):
            # FastAPI's "error parsing the body" for JSON that is not UTF-8 or nests too deeply: the content is
            # what is wrong, like any other JSON error.
            detail = unreadable_json(exc.__cause__)
            metrics.errors.labels("InvalidRequest").inc()
            request.state.log["error"] = detail
            return JSONResponse(_error_body(request, "invalid_request", detail), status_code=422)
        if exc.status_code == 405 and exc.headers and "Allow" in exc.headers:
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {exc.headers['Allow']}"
        elif exc.status_code == 404 and detail == "Not Found":
            detail = f"Not Found: no route {request.url.path[:100]!r} (the API is described at /docs)"
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(_error_body(request, code, detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        metrics.errors.labels("Internal").inc()
        request_id = getattr(request.state, "request_id", None)
        logger.exception("unhandled error", extra={"request_id": request_id})
        return JSONResponse(
            _error_body(request, "internal_error", f"internal error (request id {request_id})"), status_code=500
        )


def _wrap_outermost(
    app: FastAPI, *, metrics: Metrics, limits: HttpLimits, direct: dict[tuple[str, str], Handler]
) -> None:
    """Puts :class:`RequestContextMiddleware` outside Starlette's own layers (``add_middleware`` puts it inside).

    Starlette builds the stack on the first request from ``build_middleware_stack``;
    the app comes from ``FastAPIOffline``, a function, so the wrapping is done on
    the instance. Routes in ``direct`` are then answered by the middleware without
    going down the stack (see its docstring); their FastAPI routes still document them.
    """
    build = app.build_middleware_stack

    def build_stack() -> ASGIApp:
        return RequestContextMiddleware(
            build(),
            metrics=metrics,
            limits=limits,
            direct=direct,
            exception_handlers=app.exception_handlers,
        )

    app.build_middleware_stack = build_stack  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; the backend and key store open in the lifespan and close with it.

    Raises:
        ValueError: settings that must not run (e.g. no admin token).
    """
    settings = settings or get_settings()
    settings.check_startup()
    settings.warn_if_weak()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys = make_key_store(
            settings.keys_url,
            cache_s=settings.key_cache_s,
            timeout_s=settings.keys_timeout_s,
            pool_size=settings.keys_pool_size,
        )
        await keys.open()
        app.state.keys = keys
        backend = make_backend(settings)
        await backend.start()
        app.state.backend = backend
        # Everything loaded so far (TensorFlow's objects above all) lives as long as the process:
        # move it out of the collector's reach, or each full collection walks it (100+ ms pauses).
        gc.collect()
        gc.freeze()
        # A request allocates a few thousand objects that reference counting frees; the young generation's
        # default threshold (700) still runs a collection every few requests. A larger one runs it far less
        # often, on as few survivors (what is in flight), and bounds the cycles left waiting to a few MB.
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        logger.info(
            "facade ready",
            extra={"backend": backend.kind, "target": backend.target, "models": backend.served()},
        )
        try:
            yield
        finally:
            await backend.close()
            await keys.close()
            await app.state.limits.close()
            metrics.close()

    try:
        version = metadata.version("stockcast")
    except metadata.PackageNotFoundError:
        version = "dev"
    # Swagger UI and ReDoc from the package's own files (no CDN): /docs works offline.
    app = FastAPIOffline(title="stockcast facade", version=version, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.limits = RateLimits(settings)
    _register_handlers(app, metrics)
    # The forecast routes first: the router tries routes in order, and /predict is the hot path.
    direct: dict[tuple[str, str], Handler] = {}
    app.include_router(predict.make_router(settings, direct=direct))
    app.include_router(health.router)
    app.include_router(keys.router)
    limits = HttpLimits(
        # Room for the multipart envelope and form fields around an upload of max_upload_bytes.
        max_body_bytes=settings.max_upload_bytes + 64 * 1024,
        body_timeout_s=settings.body_timeout_s,
        max_headers=settings.max_headers,
        max_header_bytes=settings.max_header_bytes,
    )
    _wrap_outermost(app, metrics=metrics, limits=limits, direct=direct)
    install_openapi(app, lambda: getattr(app.state, "backend", None))
    return app


class Entry:
    """What uvicorn serves: HTTP requests go straight to the app's outermost layer, everything else to the app.

    FastAPI's and Starlette's own ``__call__`` do three things per request before
    the middleware stack: set ``scope["app"]`` (done here), apply a configured
    ``root_path`` (none is: such apps go the usual way), and check whether
    OpenTelemetry tracing or metrics are configured, which reads the process's
    environment on every request. The facade configures neither, so that check
    is skipped; an app with a root path goes the usual way.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if scope["type"] != "http" or app.root_path:
            await app(scope, receive, send)
            return
        if app.middleware_stack is None:  # Starlette builds it on the first request; so do we
            app.middleware_stack = app.build_middleware_stack()
        scope["app"] = app
        await app.middleware_stack(scope, receive, send)


def app_factory() -> Entry:
    """Entry point for uvicorn (each worker process calls it): logging, then the app."""
    settings = get_settings()
    logging_setup.configure(settings.log_level, json_lines=settings.log_json)
    return Entry(create_app(settings))
