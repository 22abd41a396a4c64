"""The HTTP ceiling of this machine: validate the facade's request body and echo it back.

Same framework, server, body schema and API-key header as the facade, but no
work: what is left is the cost of HTTP, JSON and validation. The facade's
throughput is reported as a fraction of this one's.

    python -m loadtest.ceiling_app --port 8002
"""

from __future__ import annotations

import argparse
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header

from facade.schemas import PredictRequest


def create_app() -> FastAPI:
    app = FastAPI(title="HTTP ceiling")

    @app.post("/predict")
    async def predict(body: PredictRequest, x_api_key: Annotated[str | None, Header()] = None) -> PredictRequest:
        return body

    @app.post("/generate_api_key")
    async def generate_api_key() -> dict[str, str]:
        return {"api_key": "not-checked"}

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.ceiling_app")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
