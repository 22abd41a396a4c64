"""CPU per request of the facade and of the HTTP ceiling, driven in-process: no sockets, no load generator.

    python -m loadtest.inprocess [--requests 1000] [--concurrency 8] [--rounds 10]

Builds both ASGI apps here and calls them directly with the benchmark's
1-step body (the last 80 real AAPL closes), ``--concurrency`` requests at a
time, in alternating chunks so that the machine's drift hits both alike; the
best chunk of each is the least disturbed. The facade runs with every feature on (its embedded backend over
``models/``, keys in a temporary SQLite file, rate limits, metrics, drift,
intervals), logging at WARNING. Printed per request: the CPU time of the
event loop's thread, which bounds what one worker serves, and of the whole
process (TensorFlow's threads included). Without HTTP
parsing, sockets and Locust on the same cores, this shows what the
application itself costs, run to run within a few percent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from loadtest.payloads import closes

Message = dict[str, Any]


async def _drive(
    app: Any, body: bytes, headers: dict[str, str], *, requests: int, concurrency: int
) -> tuple[float, float]:
    raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw_headers.append((b"content-length", str(len(body)).encode()))

    async def one() -> int:
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "", "headers": raw_headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
        }  # fmt: skip
        await app(scope, receive, send)
        return int(sent[0]["status"])

    for _ in range(100):  # warm-up: every cache filled, every code path imported
        status = await one()
        if status != 200:
            raise SystemExit(f"the app answered {status} to the benchmark's request")
    main, cpu = time.thread_time(), time.process_time()
    for _ in range(requests // concurrency):
        await asyncio.gather(*(one() for _ in range(concurrency)))
    n = (requests // concurrency) * concurrency
    return (time.thread_time() - main) / n * 1e6, (time.process_time() - cpu) / n * 1e6


async def _both(
    body: bytes, args: argparse.Namespace, work: Path
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Alternates chunks of requests to the ceiling and the facade; returns their (main-thread, process) CPU."""
    from facade.app import Entry, create_app
    from facade.config import Settings
    from loadtest.ceiling_app import create_app as create_ceiling

    ceiling = create_ceiling()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings' own argument
        admin_token=SecretStr(secrets.token_urlsafe(32)),
        keys_url=f"sqlite:///{work / 'keys.sqlite3'}",
        models_dir=args.models_dir,
        backend="embedded",
        log_level="WARNING",
        rate_limit_per_key="100000000/minute",  # counted on every request, never exhausted
    )
    facade = create_app(settings)
    entry = Entry(facade)  # what uvicorn serves
    chunks: list[tuple[tuple[float, float], tuple[float, float]]] = []
    async with facade.router.lifespan_context(facade):
        _, key = await facade.state.keys.create("in-process")
        facade_headers = {"content-type": "application/json", "x-api-key": key}
        ceiling_headers = {"content-type": "application/json", "x-api-key": "not-checked"}
        for _ in range(args.rounds):
            c = await _drive(ceiling, body, ceiling_headers, requests=args.requests, concurrency=args.concurrency)
            f = await _drive(entry, body, facade_headers, requests=args.requests, concurrency=args.concurrency)
            chunks.append((c, f))
    return chunks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--requests", type=int, default=1000, help="requests per chunk")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10, help="chunks of each app, alternating")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    body = json.dumps({"prices": closes(80), "steps": 1}).encode()
    with tempfile.TemporaryDirectory(prefix="stockcast-inprocess-") as tmp:
        chunks = asyncio.run(_both(body, args, Path(tmp)))
    print(
        f"1-step /predict, {args.rounds} alternating chunks of {args.requests} requests, {args.concurrency} at a time"
    )
    print("us of CPU per request: the event loop's thread (which one worker cannot exceed), then every thread")
    for i, ((c_main, c_all), (f_main, f_all)) in enumerate(chunks, 1):
        print(
            f"chunk {i:2}: ceiling {c_main:4.0f} / {c_all:4.0f}, facade {f_main:4.0f} / {f_all:4.0f}; "
            f"main threads {c_main / f_main:.2f}x"
        )
    best_c, best_f = min(c[0] for c, _ in chunks), min(f[0] for _, f in chunks)
    print(f"best of each, main thread: ceiling {best_c:.0f} us, facade {best_f:.0f} us: {best_c / best_f:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
