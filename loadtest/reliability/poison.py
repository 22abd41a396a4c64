"""N normal clients and one poisoning client on one facade: no normal request may fail.

    python -m loadtest.reliability poison [--clients 16] [--duration 20] [--backend embedded --backend tfserving]

The facade runs in this process on a real uvicorn server (so the poisoning
client can also reach below its checks), on the ``embedded`` backend
(micro-batched TensorFlow) or the ``tfserving`` backend against the local
gRPC server. The poisoning client alternates two attacks:

- **over HTTP**: rows the facade's own checks must refuse with a 4xx
  (prices float32 cannot hold, non-numbers, steps out of range);
- **below the checks**: rows handed straight to ``backend.forecast``, the call
  the forecast use case makes, so on the embedded backend they join the same
  micro-batches as the normal clients' rows (zeros, negatives, NaN and steps
  out of range). The ``forecast`` signature masks such rows and reports them
  in its ``valid`` output instead of failing the batch; a version exported
  before that contract asserted on them instead, and then the micro-batcher
  re-runs a failed batch request by request. Either way the normal clients'
  requests must all succeed, which is what is counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn

from facade.app import create_app
from facade.config import Settings
from facade.server import FacadeConfig, LimitedHttpToolsProtocol
from loadtest import procs
from loadtest.reliability.stack import Client, history

MODEL = "aapl"

# Bodies the facade's checks refuse (status 4xx expected); built from a valid history.
HTTP_POISON: list[tuple[str, Callable[[list[float]], bytes]]] = [
    ("price 1e-40", lambda h: json.dumps({"prices": [*h[:-1], 1e-40]}).encode()),
    ("price 3.5e38", lambda h: json.dumps({"prices": [*h[:-1], 3.5e38]}).encode()),
    ("price 1e308", lambda h: json.dumps({"prices": [*h[:-1], 1e308]}).encode()),
    ("price 0", lambda h: json.dumps({"prices": [*h[:-1], 0]}).encode()),
    ("price NaN", lambda h: (json.dumps({"prices": h})[:-2] + ", NaN]}").encode()),
    ("price as a string", lambda h: json.dumps({"prices": [*h[:-1], "1.5"]}).encode()),
    ("steps 10**9", lambda h: json.dumps({"prices": h, "steps": 10**9}).encode()),
    ("steps true", lambda h: json.dumps({"prices": h, "steps": True}).encode()),
]
# Rows handed to the backend below the facade's checks: (label, price to fill the window with, steps).
ROW_POISON: list[tuple[str, float, int]] = [
    ("zero prices", 0.0, 3),
    ("negative prices", -5.0, 3),
    ("NaN prices", float("nan"), 3),
    ("steps 0", 150.0, 0),
    ("steps 100000", 150.0, 100_000),
]


@dataclass
class PoisonReport:
    backend: str
    clients: int
    duration_s: float
    normal: Counter[int] = field(default_factory=Counter)
    normal_errors: list[str] = field(default_factory=list)
    http_poison: Counter[str] = field(default_factory=Counter)
    row_poison: Counter[str] = field(default_factory=Counter)
    batches_retried: int = 0

    @property
    def normal_failed(self) -> int:
        return sum(n for status, n in self.normal.items() if status != 200)

    def lines(self) -> list[str]:
        total = sum(self.normal.values())
        return [
            f"{self.backend}: {self.clients} normal clients, {self.duration_s:.0f} s: {total} normal requests "
            f"({total / self.duration_s:.0f}/s), {self.normal_failed} failed",
            f"  poisoned requests over HTTP: {sum(self.http_poison.values())} "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(self.http_poison.items()))})",
            f"  poisoned rows below the checks: {sum(self.row_poison.values())} "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(self.row_poison.items()))})",
            f"  micro-batches that failed and were re-run request by request: {self.batches_retried}",
        ]


class _BatchRetries(logging.Handler):
    """Counts the batcher's "running each alone" warnings: poisoned rows that shared a batch."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "running each alone" in record.getMessage():
            self.count += 1


def _settings(workdir: Path, models_dir: Path, grpc_target: str | None, port: int) -> Settings:
    values: dict[str, Any] = {
        "admin_token": secrets.token_urlsafe(24),
        "keys_url": f"sqlite:///{workdir / f'keys-{port}.sqlite3'}",
        "models_dir": models_dir,
        "backend": "tfserving" if grpc_target else "embedded",
        "tfserving_address": grpc_target,
        "port": port,
        "rate_limit_per_key": "100000000/minute",
        "log_json": False,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def _inject(app: Any, price: float, steps: int) -> str:
    """One poisoned row through ``backend.forecast``, the call the use case makes; returns what happened."""
    backend = app.state.backend
    servable = await backend.pin(MODEL)
    prices = np.full((1, servable.window), price, dtype=np.float32)
    try:
        out = await backend.forecast(servable, prices, np.array([steps], dtype=np.int32))
    except Exception as exc:
        return f"refused ({type(exc).__name__})"  # a signature that asserts on the row (contract v1)
    if not bool(out.valid[0]):
        return "answered, marked invalid"  # the contract: the row is masked, its outputs NaN
    return "answered as valid"


def run(*, models_dir: Path, workdir: Path, grpc_target: str | None, clients: int, duration_s: float) -> PoisonReport:
    """Starts a facade in this process, runs the clients for ``duration_s``, stops it; returns the counts."""
    port = procs.free_port()
    settings = _settings(workdir, models_dir, grpc_target, port)
    app = create_app(settings)
    config = FacadeConfig(
        app, host="127.0.0.1", port=port, http=LimitedHttpToolsProtocol, log_config=None, access_log=False,
        header_timeout_s=settings.header_timeout_s, max_header_bytes=settings.max_header_bytes,
    )  # fmt: skip
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), name="facade", daemon=True)
    retries = _BatchRetries()
    logging.getLogger("facade.backends.batching").addHandler(retries)
    report = PoisonReport("tfserving" if grpc_target else "embedded", clients, duration_s)
    thread.start()
    try:
        procs.wait_http(f"http://127.0.0.1:{port}/ready", timeout=120)
        assert settings.admin_token is not None
        with Client(port) as admin:
            key = str(admin.mint(settings.admin_token.get_secret_value())[1]["api_key"])
        window = asyncio.run_coroutine_threadsafe(app.state.backend.pin(MODEL), loop).result(10).window
        prices = history(window + 5)
        stop = threading.Event()
        lock = threading.Lock()

        def normal() -> None:
            with Client(port) as client:
                while not stop.is_set():
                    status, body = client.predict(key, {"prices": prices, "steps": 5})
                    with lock:
                        report.normal[status] += 1
                        if status != 200 and len(report.normal_errors) < 10:
                            report.normal_errors.append(f"{status}: {body.get('detail')}")

        def poisoner() -> None:
            headers = {"x-api-key": key, "content-type": "application/json"}
            with Client(port) as client:
                i = 0
                while not stop.is_set():
                    label, build = HTTP_POISON[i % len(HTTP_POISON)]
                    status, _ = client.call("POST", "/predict", body=build(prices), headers=headers)
                    report.http_poison[f"{status}" if 400 <= status < 500 else f"NOT 4xx: {status} ({label})"] += 1
                    _, price, steps = ROW_POISON[i % len(ROW_POISON)]
                    future = asyncio.run_coroutine_threadsafe(_inject(app, price, steps), loop)
                    report.row_poison[future.result(30)] += 1
                    i += 1

        workers = [threading.Thread(target=normal) for _ in range(clients)] + [threading.Thread(target=poisoner)]
        for w in workers:
            w.start()
        time.sleep(duration_s)
        stop.set()
        for w in workers:
            w.join(60)
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()
        logging.getLogger("facade.backends.batching").removeHandler(retries)
    report.batches_retried = retries.count
    return report


def main(models_dir: Path, workdir: Path, *, clients: int, duration_s: float, backends: list[str]) -> int:
    """Runs the poisoned load on each backend and prints the counts; exit 1 if a normal request failed."""
    from loadtest.reliability.stack import grpc_server

    reports = []
    for backend in backends:
        if backend == "tfserving":
            with grpc_server(models_dir, workdir) as target:
                reports.append(
                    run(models_dir=models_dir, workdir=workdir, grpc_target=target, clients=clients,
                        duration_s=duration_s)
                )  # fmt: skip
        else:
            reports.append(
                run(models_dir=models_dir, workdir=workdir, grpc_target=None, clients=clients, duration_s=duration_s)
            )
    for r in reports:
        print("\n".join(r.lines()))
        for error in r.normal_errors:
            print(f"  normal request failed: {error}")
    return 0 if all(r.normal_failed == 0 and r.normal for r in reports) else 1
