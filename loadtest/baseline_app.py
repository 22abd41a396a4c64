"""The original design, for comparison: FastAPI loading ``modelo_lstm.h5`` and calling Keras per step.

Shaped like the project this one replaces: anyone may mint a key (kept in
memory), ``POST /predict`` takes ``{"prices": [...]}`` with ``x-api-key``,
scales with the pickled scaler, and calls ``model.predict`` once per step,
feeding each prediction back (``steps``, 10 in the benchmark). Not part of
the product.

    python -m loadtest.baseline_app --run runs/aapl/<run> --port 8001
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

from common.contract import NEXT_OUTPUT


class Body(BaseModel):
    prices: list[float]
    steps: int = 10
    ticker: str | None = None


def create_app(run_dir: Path) -> FastAPI:
    from training.artifacts import load_model, load_scaler

    model = load_model(run_dir)
    scaler = load_scaler(run_dir)
    window = int(model.input_shape[1])
    keys: set[str] = set()
    app = FastAPI(title="baseline (original design)")

    @app.post("/generate_api_key")
    def generate_api_key() -> dict[str, str]:
        key = secrets.token_hex(16)
        keys.add(key)
        return {"api_key": key}

    @app.post("/predict")
    def predict(body: Body, x_api_key: str = Header(default="")) -> dict[str, Any]:
        if x_api_key not in keys:
            raise HTTPException(status_code=401, detail="invalid API key")
        scaled = scaler.transform(np.asarray(body.prices[-window:]).reshape(-1, 1))
        current = scaled.reshape(1, window, 1)
        out = []
        for _ in range(body.steps):
            nxt = model.predict(current, verbose=0)[NEXT_OUTPUT]
            out.append(float(scaler.inverse_transform(nxt)[0, 0]))
            current = np.concatenate([current[:, 1:, :], nxt.reshape(1, 1, 1)], axis=1)
        return {"forecast": out}

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.baseline_app")
    parser.add_argument("--run", type=Path, required=True, help="a training run folder")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.run), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
