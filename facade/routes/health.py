"""Health, readiness, model listing and Prometheus metrics."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from common.naming import model_name
from facade.deps import BackendDep, KeyStoreDep, MetricsDep, SettingsDep
from facade.errors import FacadeError
from facade.metrics import CONTENT_TYPE
from facade.openapi import errors

router = APIRouter(tags=["service"], responses=errors())


class Readiness(BaseModel):
    ready: bool
    reason: str | None = None


class BackendState(BaseModel):
    kind: str
    target: str
    reachable: bool


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    backend: BackendState
    default_model: str
    forecast_mode: str
    models: dict[str, list[int]] = Field(description="Model -> versions available now")


class VersionInfo(BaseModel):
    version: int
    ticker: str | None = None
    window: int | None = None
    created_at: str | None = None
    data_range: tuple[str, str] | None = None
    test_mase: float | None = None
    test_mae: float | None = None
    error: str | None = Field(default=None, description="Why the version's metadata could not be read")


class ModelListing(BaseModel):
    models: dict[str, list[VersionInfo]]


@router.get("/", response_model=Health)
async def health(backend: BackendDep, settings: SettingsDep) -> dict[str, Any]:
    """Service health: backend reachability and the models and versions served."""
    reachable = await backend.reachable()
    served = backend.served()
    default = model_name(settings.default_ticker)
    ok = reachable and bool(served.get(default))
    return {
        "status": "ok" if ok else "degraded",
        "backend": {"kind": backend.kind, "target": backend.target, "reachable": reachable},
        "default_model": default,
        "forecast_mode": settings.forecast_mode,
        "models": served,
    }


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the reason says why"}},
)
async def ready(backend: BackendDep, keys: KeyStoreDep, settings: SettingsDep) -> JSONResponse:
    """Readiness: the backend answers, the default model has a version, the key database opens."""
    default = model_name(settings.default_ticker)
    reason = None
    if not await backend.reachable():
        reason = f"backend {backend.kind} at {backend.target} is unreachable"
    elif not backend.served().get(default):
        reason = f"no version of the default model {default!r} is available"
    else:
        try:
            keys.ping()
        except Exception as exc:
            reason = f"key database unavailable: {exc}"
    if reason:
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)
    return JSONResponse({"ready": True})


@router.get("/models", response_model=ModelListing, response_model_exclude_none=True)
async def models(backend: BackendDep) -> dict[str, Any]:
    """Models and available versions, with each version's window, data range and test metrics."""
    out: dict[str, Any] = {}
    for name, versions in backend.served().items():
        entries: list[dict[str, Any]] = []
        for v in versions:
            try:
                meta = backend.read_metadata(name, v)
            except FacadeError as exc:
                entries.append({"version": v, "error": exc.detail})
                continue
            entries.append(
                {
                    "version": v,
                    "ticker": meta.ticker,
                    "window": meta.window,
                    "created_at": meta.created_at.isoformat(),
                    "data_range": meta.data.range,
                    "test_mase": meta.metrics.test.mase,
                    "test_mae": meta.metrics.test.mae,
                }
            )
        out[name] = entries
    return {"models": out}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
)
async def metrics(backend: BackendDep, m: MetricsDep) -> Response:
    """Prometheus metrics (all workers of this facade)."""
    served = backend.served()
    available = {name: len(served.get(name, ())) for name in {*backend.known_models(), *served}}
    body = m.exposition(backend_up=await backend.reachable(), available=available)
    return Response(body, media_type=CONTENT_TYPE)
