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
from facade.keystore import KeyStore
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


class KeyStoreState(BaseModel):
    reachable: bool
    problem: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    backend: BackendState
    key_store: KeyStoreState
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
    labels: dict[str, dict[str, int]] = Field(description="Model -> version labels (stable, canary, ...)")


async def _key_store_problem(keys: KeyStore) -> str | None:
    """Why the key database cannot be read now, or None when it can."""
    try:
        await keys.ping()
    except Exception as exc:  # whatever the store says, health answers, never 500
        return exc.detail if isinstance(exc, FacadeError) else str(exc)
    return None


@router.get("/", response_model=Health)
async def health(backend: BackendDep, keys: KeyStoreDep, settings: SettingsDep) -> dict[str, Any]:
    """Service health: backend and key database reachability, and the models and versions served."""
    reachable = await backend.reachable()
    served = backend.served()
    default = model_name(settings.default_ticker)
    key_problem = await _key_store_problem(keys)
    ok = reachable and bool(served.get(default)) and key_problem is None
    return {
        "status": "ok" if ok else "degraded",
        "backend": {"kind": backend.kind, "target": backend.target, "reachable": reachable},
        "key_store": {"reachable": key_problem is None, "problem": key_problem},
        "default_model": default,
        "forecast_mode": settings.forecast_mode,
        "models": served,
    }


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the reason says why"}},
)
async def ready(backend: BackendDep, settings: SettingsDep) -> JSONResponse:
    """Readiness: this replica's backend answers and the default model has a version available."""
    # The key database is shared by every replica: its outage must not take them all out of a load
    # balancer at once (keys they have verified still work). GET / and facade_key_store_up report it.
    default = model_name(settings.default_ticker)
    reason = None
    if not await backend.reachable():
        reason = f"backend {backend.kind} at {backend.target} is unreachable"
    elif not backend.served().get(default):
        reason = f"no version of the default model {default!r} is available"
    if reason:
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)
    return JSONResponse({"ready": True})


@router.get("/models", response_model=ModelListing, response_model_exclude_none=True)
async def models(backend: BackendDep) -> dict[str, Any]:
    """Models and available versions, with each version's window, data range and test metrics, and labels."""
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
    return {"models": out, "labels": {name: backend.labels(name) for name in out}}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
)
async def metrics(backend: BackendDep, keys: KeyStoreDep, m: MetricsDep) -> Response:
    """Prometheus metrics (all workers of this facade)."""
    served = backend.served()
    available = {name: len(served.get(name, ())) for name in {*backend.known_models(), *served}}
    key_store_up = await _key_store_problem(keys) is None
    body = m.exposition(backend_up=await backend.reachable(), key_store_up=key_store_up, available=available)
    return Response(body, media_type=CONTENT_TYPE)
