"""Health, readiness, model listing and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from common.naming import model_name
from facade.deps import BackendDep, KeyStoreDep, MetricsDep, SettingsDep
from facade.openapi import errors

router = APIRouter(tags=["service"], responses=errors())


class Readiness(BaseModel):
    ready: bool
    reason: str | None = None


@router.get("/")
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


@router.get("/models")
async def models(backend: BackendDep) -> dict[str, Any]:
    """Models and available versions, with each version's window, data range and test metrics."""
    out: dict[str, Any] = {}
    for name, versions in backend.served().items():
        entries: list[dict[str, Any]] = []
        for v in versions:
            try:
                meta = backend.read_metadata(name, v)
            except Exception:
                entries.append({"version": v})
                continue
            test = meta.get("metrics", {}).get("test", {})
            entries.append(
                {
                    "version": v,
                    "ticker": meta.get("ticker"),
                    "window": meta.get("window"),
                    "created_at": meta.get("created_at"),
                    "data_range": meta.get("data", {}).get("range"),
                    "test_mase": test.get("mase"),
                    "test_mae": test.get("mae"),
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
    """Prometheus metrics (this worker's)."""
    m.backend_up.set(1 if await backend.reachable() else 0)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
