"""Starting and stopping the local processes a benchmark needs (loopback only)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

# A fresh token per benchmark run: the facades started here accept nothing else.
ADMIN_TOKEN = secrets.token_urlsafe(24)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 120.0) -> float:
    """Polls ``url`` until it answers 200; returns the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - loopback URL built here
                if r.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not become ready in {timeout:.0f}s")


def wait_port(port: int, timeout: float = 120.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open in {timeout:.0f}s")


@contextmanager
def process(
    args: list[str], *, env: dict[str, str] | None = None, log: Path | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Runs a child process for the duration of the block, then stops it (SIGTERM, then SIGKILL)."""
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        args, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT, cwd=cwd
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def grpc_server(
    models_dir: Path, port: int, *, log: Path | None = None
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    args = [sys.executable, "-m", "modelserver", "--models-dir", str(models_dir), "--port", str(port)]
    return process(args, env={"TF_CPP_MIN_LOG_LEVEL": "3"}, log=log)


def facade(
    port: int, *, env: dict[str, str], log: Path | None = None, cwd: Path | None = None
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    base = {
        "FACADE_PORT": str(port),
        "FACADE_ADMIN_TOKEN": ADMIN_TOKEN,
        "FACADE_LOG_LEVEL": "WARNING",
        # One key drives a whole benchmark: its quota must not be what is measured (the limiter still runs).
        "FACADE_RATE_LIMIT_PER_KEY": "100000000/minute",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    return process([sys.executable, "-m", "facade"], env={**base, **env}, log=log, cwd=cwd)


def mint_key(base_url: str) -> str:
    req = urllib.request.Request(  # noqa: S310 - loopback URL built here
        f"{base_url}/generate_api_key", method="POST", headers={"x-admin-token": ADMIN_TOKEN}
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        return str(json.load(r)["api_key"])


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user and system) of a process's threads so far, added up by thread name (Linux).

    The main thread is named ``main``: Python's other threads share its name unless they set their own.
    A thread that has ended is no longer counted.
    """
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = "main" if task.name == str(pid) else stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()  # utime and stime are the 14th and 15th fields
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")
