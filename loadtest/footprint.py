"""Facade start-up time and memory per worker, tfserving backend against embedded.

    python -m loadtest.footprint [--models-dir models]

Starts the local TF Serving-API gRPC server, then the facade as a fresh
process in each mode: the time from spawning it to ``/ready`` answering 200,
and its RSS after 200 forecasts. Loopback only; every process is stopped at
the end.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import urllib.request
from pathlib import Path

from loadtest import procs


def measure(env: dict[str, str], prices: list[float], workdir: Path) -> dict[str, float]:
    port = procs.free_port()
    env = {**env, "FACADE_KEYS_URL": f"sqlite:///{workdir / f'keys-{port}.db'}"}
    spawned = time.monotonic()
    with procs.facade(port, env=env, log=workdir / f"facade-{port}.log") as proc:
        base = f"http://127.0.0.1:{port}"
        procs.wait_http(f"{base}/ready")
        ready_s = time.monotonic() - spawned
        key = procs.mint_key(base)
        body = json.dumps({"prices": prices, "steps": 10}).encode()
        for _ in range(200):
            req = urllib.request.Request(  # noqa: S310 - loopback URL built here
                f"{base}/predict", data=body, headers={"x-api-key": key, "content-type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
                r.read()
        return {"ready_s": ready_s, "rss_mb": procs.rss_mb(proc.pid)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.footprint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    args = parser.parse_args(argv)
    closes = [float(line.split(",")[4]) for line in Path("data/AAPL.csv").read_text().splitlines()[-80:]]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        grpc_port = procs.free_port()
        with procs.grpc_server(args.models_dir, grpc_port, log=work / "grpc.log"):
            procs.wait_port(grpc_port)
            time.sleep(1)
            rows = {
                "tfserving": measure(
                    {
                        "FACADE_BACKEND": "tfserving",
                        "FACADE_TFSERVING_ADDRESS": f"127.0.0.1:{grpc_port}",
                        "FACADE_MODELS_DIR": str(args.models_dir),
                    },
                    closes,
                    work,
                ),
                "embedded": measure(
                    {"FACADE_BACKEND": "embedded", "FACADE_MODELS_DIR": str(args.models_dir)}, closes, work
                ),
            }
    print(f"{'backend':<10} {'start to /ready (s)':>20} {'RSS per worker (MiB)':>21}")
    for name, row in rows.items():
        print(f"{name:<10} {row['ready_s']:>20.2f} {row['rss_mb']:>21.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
