"""A TF Serving outage and recovery, and a version roll and rollback under load.

    python -m loadtest.reliability outage
    python -m loadtest.reliability roll [--clients 8]

Outage: the facade (tfserving backend) runs against the local gRPC server,
which is killed (SIGKILL) and later started again on the same port. Every
request during the outage must get a 503 with ``Retry-After`` at once, and
the facade must serve again by itself, with no restart.

Roll: clients send forecasts without pause while an operator republishes an
older version as the newest (``python -m export republish``) and then retires
it (``python -m export retire``, the rollback). No request may fail, and the
answers must move to the new version and back.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loadtest import procs
from loadtest.reliability.stack import ROOT, Client, facade, history, mint_key

MODEL = "aapl"


def _until(check: Callable[[], bool], timeout_s: float, *, every_s: float = 0.05) -> float:
    """Seconds until ``check()`` is true; raises TimeoutError past ``timeout_s``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if check():
            return time.monotonic() - start
        time.sleep(every_s)
    raise TimeoutError(f"not reached in {timeout_s:.0f} s")


@dataclass
class OutageReport:
    during: Counter[int] = field(default_factory=Counter)
    retry_after: set[str] = field(default_factory=set)
    slowest_503_ms: float = 0.0
    not_ready_after_s: float = 0.0
    server_start_s: float = 0.0
    first_200_after_port_s: float = 0.0
    ready_after_port_s: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"during the outage: {sum(self.during.values())} requests, statuses {dict(self.during)}, "
            f"Retry-After {sorted(self.retry_after)}, slowest 503 in {self.slowest_503_ms:.1f} ms",
            f"/ready turned 503 {self.not_ready_after_s:.2f} s after the kill",
            f"gRPC server restarted (port open after {self.server_start_s:.1f} s); first 200 "
            f"{self.first_200_after_port_s:.2f} s later, /ready 200 {self.ready_after_port_s:.2f} s later; "
            "the facade was not restarted",
        ]


def outage(models_dir: Path, workdir: Path, *, outage_s: float = 5.0) -> OutageReport:
    """Kills the gRPC server under a running facade, measures the 503s, brings it back, measures recovery."""
    report = OutageReport()
    port = procs.free_port()
    target = f"127.0.0.1:{port}"
    with procs.grpc_server(models_dir, port, log=workdir / "grpc-outage-1.log") as grpc:
        procs.wait_port(port)
        with facade(workdir, models_dir=models_dir, grpc_target=target, request_timeout_s="2") as live:
            key = mint_key(live)
            body = {"prices": history(100), "steps": 3}
            with Client(live.port) as client, Client(live.port) as probe:
                if client.predict(key, body)[0] != 200:
                    raise RuntimeError("the facade did not serve before the outage")
                grpc.kill()
                grpc.wait()
                killed = time.monotonic()
                not_ready: float | None = None
                while time.monotonic() - killed < outage_s:
                    t0 = time.perf_counter()
                    status, _ = client.predict(key, body)
                    report.slowest_503_ms = max(report.slowest_503_ms, (time.perf_counter() - t0) * 1000)
                    report.during[status] += 1
                    report.retry_after.add(client.last_headers.get("retry-after", "missing"))
                    if not_ready is None and probe.call("GET", "/ready")[0] == 503:
                        not_ready = time.monotonic() - killed
                    time.sleep(0.02)
                report.not_ready_after_s = not_ready if not_ready is not None else float("inf")

                restart = time.monotonic()
                with procs.grpc_server(models_dir, port, log=workdir / "grpc-outage-2.log"):
                    procs.wait_port(port)
                    report.server_start_s = time.monotonic() - restart
                    report.first_200_after_port_s = _until(lambda: client.predict(key, body)[0] == 200, 60)
                    report.ready_after_port_s = report.first_200_after_port_s + _until(
                        lambda: probe.call("GET", "/ready")[0] == 200, 60
                    )
    return report


@dataclass
class RollReport:
    backend: str
    statuses: Counter[int] = field(default_factory=Counter)
    versions: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    roll_seen_s: float = 0.0
    rollback_seen_s: float = 0.0

    def lines(self) -> list[str]:
        failed = sum(n for s, n in self.statuses.items() if s != 200)
        return [
            f"{self.backend}: {sum(self.statuses.values())} requests, {failed} failed; answers by version "
            f"{dict(sorted(self.versions.items()))}; new version answering {self.roll_seen_s:.1f} s after "
            f"`export republish`, the previous one {self.rollback_seen_s:.1f} s after `export retire`",
        ]


def _export(models_dir: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "export", "--models-dir", str(models_dir), *args]
    env = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=300)  # noqa: S603


def roll(models_dir: Path, workdir: Path, *, backend: str, clients: int = 8) -> RollReport:
    """Republishes version 1 as the newest, then retires it, while ``clients`` send forecasts."""
    base = workdir / f"models-roll-{backend}"
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(models_dir, base)
    report = RollReport(backend)
    port = procs.free_port()
    grpc = procs.grpc_server(base, port, log=workdir / "grpc-roll.log") if backend == "tfserving" else None
    with grpc or contextlib.nullcontext():
        if grpc is not None:
            procs.wait_port(port)
        target = f"127.0.0.1:{port}" if grpc is not None else None
        with facade(workdir, models_dir=base, grpc_target=target, rate_limit_per_key="100000000/minute") as live:
            key = mint_key(live)
            body = {"prices": history(100), "steps": 3}
            stop = threading.Event()
            lock = threading.Lock()
            newest = [0]

            def send() -> None:
                with Client(live.port) as client:
                    while not stop.is_set():
                        status, reply = client.predict(key, body)
                        with lock:
                            report.statuses[status] += 1
                            if status == 200:
                                report.versions[int(reply["version"])] += 1
                                newest[0] = int(reply["version"])
                            elif len(report.errors) < 10:
                                report.errors.append(f"{status}: {reply.get('detail')}")

            workers = [threading.Thread(target=send) for _ in range(clients)]
            for w in workers:
                w.start()
            try:
                time.sleep(2)
                start = time.monotonic()
                _export(base, "republish", "--model", MODEL, "1")  # becomes version 3
                report.roll_seen_s = time.monotonic() - start + _until(lambda: newest[0] == 3, 60)
                time.sleep(2)
                start = time.monotonic()
                _export(base, "retire", "--model", MODEL, "3")
                report.rollback_seen_s = time.monotonic() - start + _until(lambda: newest[0] == 2, 60)
                time.sleep(2)
            finally:
                stop.set()
                for w in workers:
                    w.join(60)
    return report
