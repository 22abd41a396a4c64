"""One facade over two TF Serving replicas, as separate processes: a staggered roll, then a replica killed.

    python -m loadtest.scaleout [--models-dir models] [--clients 8] [--phase-s 10]

Starts two local TF Serving-API servers (``python -m modelserver``), each over
its own copy of the models folder (two pods whose volumes fill at different
times), and one facade (``python -m facade``) with no model folder, pointed
at both through one ``ipv4:`` target with round_robin. Closed-loop HTTP
clients post 1-step forecasts through four phases: steady; a new version
published on replica A only; the same version published on B; B killed with
SIGKILL. It prints, per phase, the requests, failures, the versions that
answered and the latency percentiles: the figures of docs/scaling.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from export.exporter import republish_version
from loadtest import procs
from loadtest.payloads import closes, newest_metadata

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[int] = field(default_factory=Counter)
    versions: Counter[int] = field(default_factory=Counter)

    def row(self) -> str:
        lat = sorted(self.latencies_ms) or [float("nan")]

        def pct(q: float) -> float:
            return lat[min(len(lat) - 1, int(q * len(lat)))]

        versions = ", ".join(f"v{v}: {n}" for v, n in sorted(self.versions.items()))
        failed = sum(self.failures.values())
        detail = f" ({dict(self.failures)})" if failed else ""
        return (
            f"| {self.name:<34} | {len(self.latencies_ms) + failed:>8} | {failed:>4}{detail} | {versions:<22} "
            f"| {pct(0.5):>6.1f} | {pct(0.99):>6.1f} |"
        )


class Load:
    """Closed-loop clients posting to the facade; results go to the current phase."""

    def __init__(self, base: str, key: str, body: bytes, clients: int) -> None:
        self.base, self.key, self.body = base, key, body
        self.phase = Phase("warm-up")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)

    def start(self, name: str) -> Phase:
        with self._lock:
            self.phase = Phase(name)
            return self.phase

    def _client(self) -> None:
        headers = {"x-api-key": self.key, "content-type": "application/json"}
        while not self._stop.is_set():
            req = urllib.request.Request(f"{self.base}/predict", data=self.body, headers=headers, method="POST")  # noqa: S310
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback
                    version = int(json.load(r)["version"])
                status = 200
            except urllib.error.HTTPError as exc:
                status, version = exc.code, 0
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                status, version = -1, 0
            ms = (time.perf_counter() - t0) * 1000
            with self._lock:
                if status == 200:
                    self.phase.latencies_ms.append(ms)
                    self.phase.versions[version] += 1
                else:
                    self.phase.failures[status] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.scaleout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--model", default="aapl")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--phase-s", type=float, default=10.0, help="seconds per phase")
    args = parser.parse_args(argv)
    meta = newest_metadata(args.model, args.models_dir)
    if meta is None:
        raise SystemExit(f"no {args.model} version under {args.models_dir}: run `make run` or `make export` first")
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="scaleout-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        bases, servers = [], []
        for name in ("a", "b"):
            base = work / name
            shutil.copytree(args.models_dir / args.model, base / args.model, ignore=shutil.ignore_patterns(".*"))
            port = procs.free_port()
            servers.append(stack.enter_context(procs.grpc_server(base, port, log=work / f"{name}.log")))
            procs.wait_port(port)
            bases.append((base, port))
        http_port = procs.free_port()
        target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for _, port in bases)
        env = {
            "FACADE_BACKEND": "tfserving",
            "FACADE_TFSERVING_ADDRESS": target,
            "FACADE_MODELS": args.model,
            "FACADE_DEFAULT_TICKER": meta.ticker,
            "FACADE_MODELS_DIR": str(work / "no-models-folder"),
            "FACADE_KEYS_URL": f"sqlite:///{work / 'keys.sqlite3'}",
            "FACADE_VERSION_REFRESH_S": "0.5",
        }
        stack.enter_context(procs.facade(http_port, env=env, log=work / "facade.log"))
        base_url = f"http://127.0.0.1:{http_port}"
        procs.wait_http(f"{base_url}/ready")
        body = json.dumps({"prices": closes(meta.window + 20), "steps": 1}).encode()
        newest = max(int(p.name) for p in (bases[0][0] / args.model).iterdir() if p.name.isdigit())
        with Load(base_url, procs.mint_key(base_url), body, args.clients) as load:
            time.sleep(2)
            phases.append(load.start("steady, two replicas"))
            time.sleep(args.phase_s)
            phases.append(load.start(f"v{newest + 1} published on A only"))
            republish_version(bases[0][0] / args.model, bases[0][0] / args.model / str(newest))
            time.sleep(args.phase_s)
            phases.append(load.start(f"v{newest + 1} published on B too"))
            republish_version(bases[1][0] / args.model, bases[1][0] / args.model / str(newest))
            time.sleep(args.phase_s)
            phases.append(load.start("replica B killed (SIGKILL)"))
            servers[1].send_signal(signal.SIGKILL)
            time.sleep(args.phase_s)
            load.start("done")
    print(f"\n{args.clients} clients, {args.phase_s:g} s per phase, 1-step /predict through one facade\n")
    print(f"| {'phase':<34} | requests | fail | {'answered by':<22} | p50 ms | p99 ms |")
    print(f"|{'-' * 36}|----------|------|{'-' * 24}|--------|--------|")
    for phase in phases:
        print(phase.row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
