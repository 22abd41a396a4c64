"""Stopping the facade: SIGTERM drains in-flight requests within a bound; SIGKILL loses no acknowledged key.

    python -m loadtest.reliability shutdown

- **Drain.** Requests are held in flight by the embedded backend's own
  batching window (``FACADE_BATCH_TIMEOUT_MS``), SIGTERM arrives while they
  wait: each must still get its 200, the listening socket must close at once,
  and the process must exit 0.
- **A client holding a half-sent body** cannot keep the process alive past
  ``FACADE_GRACEFUL_SHUTDOWN_S``.
- **SIGKILL during minting.** Clients mint keys as fast as they can; the
  facade is killed mid-stream and started again on the same key database;
  every key whose 201 reached a client must still work.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadtest import procs
from loadtest.reliability.stack import Client, Live, facade, history, mint_key, start_facade, stop


@dataclass
class DrainReport:
    in_flight: int
    statuses: list[int]
    exit_code: int
    exit_s: float
    refused_new_connection: bool

    def lines(self) -> list[str]:
        ok = sum(s == 200 for s in self.statuses)
        return [
            f"SIGTERM with {self.in_flight} requests in flight: {ok} answered 200, "
            f"new connections refused at once: {self.refused_new_connection}; "
            f"{exit_text(self.exit_code)} {self.exit_s:.2f} s after the signal",
        ]


def drain(models_dir: Path, workdir: Path, *, in_flight: int = 8, hold_ms: int = 1500) -> DrainReport:
    """SIGTERM while ``in_flight`` requests wait in a batching window of ``hold_ms``."""
    live, proc = start_facade(
        workdir,
        models_dir=models_dir,
        batch_timeout_ms=str(hold_ms),
        batch_max_size=str(in_flight * 4),  # the window, not the size, ends each batch
        graceful_shutdown_s="10",
        rate_limit_per_key="100000000/minute",
    )
    try:
        key = mint_key(live)
        body = {"prices": history(100), "steps": 3}
        statuses: list[int] = []
        lock = threading.Lock()

        def send() -> None:
            with Client(live.port) as client:
                status = client.predict(key, body)[0]
            with lock:
                statuses.append(status)

        workers = [threading.Thread(target=send) for _ in range(in_flight)]
        for w in workers:
            w.start()
        time.sleep(hold_ms / 1000 / 3)  # all of them are waiting in the batch now
        proc.terminate()
        signalled = time.monotonic()
        time.sleep(0.2)
        refused = _refused(live.port)
        for w in workers:
            w.join(30)
        code = proc.wait(30)
        return DrainReport(in_flight, statuses, code, time.monotonic() - signalled, refused)
    finally:
        stop(proc)


def exit_text(code: int) -> str:
    """An exit code as a shell would say it (uvicorn re-raises the SIGTERM it handled once it has shut down)."""
    return f"exit status {128 - code} (its own SIGTERM, re-raised after shutdown)" if code < 0 else f"exit code {code}"


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


@dataclass
class HalfBodyReport:
    graceful_s: float
    exit_code: int
    exit_s: float

    def lines(self) -> list[str]:
        return [
            f"SIGTERM while a client holds a half-sent body: {exit_text(self.exit_code)} after {self.exit_s:.2f} s "
            f"(FACADE_GRACEFUL_SHUTDOWN_S={self.graceful_s:g}, FACADE_BODY_TIMEOUT_S=120)",
        ]


def half_body(models_dir: Path, workdir: Path, *, grpc_target: str, graceful_s: int = 2) -> HalfBodyReport:
    """A client sends headers and half its body, then stalls; SIGTERM must still end the process in time."""
    live, proc = start_facade(
        workdir, models_dir=models_dir, grpc_target=grpc_target, graceful_shutdown_s=str(graceful_s),
        body_timeout_s="120",
    )  # fmt: skip
    try:
        key = mint_key(live)
        with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
            head = f"POST /predict HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\ncontent-type: application/json\r\n"
            sock.sendall(head.encode() + b'Content-Length: 5000\r\n\r\n{"prices": [1, 2,')
            time.sleep(0.3)
            proc.terminate()
            signalled = time.monotonic()
            code = proc.wait(60)
            return HalfBodyReport(graceful_s, code, time.monotonic() - signalled)
    finally:
        stop(proc)


@dataclass
class MintKillReport:
    kills: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    rate_per_s: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"SIGKILL during minting, {self.kills} times: {self.acknowledged} keys acknowledged "
            f"(about {self.rate_per_s:.0f}/s), {len(self.lost)} lost after restart",
        ]


def _mint_until_killed(live: Live, acknowledged: list[str], minters: int, run_s: float) -> float:
    """Mints from ``minters`` threads, SIGKILLs the facade after ``run_s``; returns the minting rate."""
    stop_flag = threading.Event()
    lock = threading.Lock()

    def mint() -> None:
        with Client(live.port, timeout_s=5) as client:
            while not stop_flag.is_set():
                try:
                    status, body = client.mint(live.admin_token, "sigkill")
                except OSError:
                    return  # the facade is gone
                if status == 201:
                    with lock:
                        acknowledged.append(str(body["api_key"]))

    before = len(acknowledged)
    workers = [threading.Thread(target=mint) for _ in range(minters)]
    start = time.monotonic()
    for w in workers:
        w.start()
    time.sleep(run_s * random.uniform(0.7, 1.0))
    live.proc.kill()
    killed = time.monotonic()
    live.proc.wait()
    stop_flag.set()
    for w in workers:
        w.join(30)
    return (len(acknowledged) - before) / (killed - start)


def sigkill_minting(
    models_dir: Path, workdir: Path, *, grpc_target: str, kills: int = 3, minters: int = 4, run_s: float = 1.5
) -> MintKillReport:
    """Kills the facade ``kills`` times while keys are minted; then checks every acknowledged key."""
    report = MintKillReport()
    keys_db = workdir / "keys-sigkill.sqlite3"
    token = "sigkill-admin-token-" + "x" * 16
    settings = {"rate_limit_minting": "100000000/minute", "rate_limit_per_key": "100000000/minute"}
    acknowledged: list[str] = []
    rates = []
    port = procs.free_port()
    for _ in range(kills):
        live, proc = start_facade(
            workdir, models_dir=models_dir, grpc_target=grpc_target, admin_token=token, keys_db=keys_db, port=port,
            **settings,
        )  # fmt: skip
        try:
            rates.append(_mint_until_killed(live, acknowledged, minters, run_s))
        finally:
            stop(proc)
        report.kills += 1
    report.acknowledged = len(acknowledged)
    report.rate_per_s = sum(rates) / len(rates)
    with (
        facade(
            workdir, models_dir=models_dir, grpc_target=grpc_target, admin_token=token, keys_db=keys_db, **settings
        ) as live,
        Client(live.port) as client,
    ):
        body = {"prices": history(100)}
        for key in acknowledged:
            status, reply = client.predict(key, body)
            if status != 200:
                report.lost.append(f"{key.split('_')[1]}: {status} {reply.get('detail')}")
    return report
