"""A real facade (``python -m facade``, uvicorn) on loopback, and a raw-socket HTTP client for hostile tests."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from loadtest import procs
from tests.facade.conftest import ADMIN

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Live:
    base: str
    port: int
    proc: Popen[bytes]
    log: Path


@contextmanager
def live_facade(grpc_target: str, models_dir: Path, tmp: Path, **settings: str) -> Iterator[Live]:
    """``python -m facade`` with the tfserving backend on ``grpc_target``; FACADE_* overrides as keywords."""
    port = procs.free_port()
    env = {
        "PYTHONPATH": str(ROOT),
        "FACADE_ADMIN_TOKEN": ADMIN,
        "FACADE_BACKEND": "tfserving",
        "FACADE_TFSERVING_ADDRESS": grpc_target,
        "FACADE_MODELS_DIR": str(models_dir),
        "FACADE_KEYS_URL": f"sqlite:///{tmp / 'keys.sqlite3'}",
        "FACADE_PORT": str(port),
        "FACADE_LOG_JSON": "true",
        "FACADE_VERSION_REFRESH_S": "0.2",
    }
    env.update({f"FACADE_{k.upper()}": v for k, v in settings.items()})
    log = tmp / f"facade-{port}.log"
    with procs.process([sys.executable, "-m", "facade"], env=env, log=log) as proc:
        procs.wait_http(f"http://127.0.0.1:{port}/ready", timeout=60)
        yield Live(f"http://127.0.0.1:{port}", port, proc, log)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float = 0.0
    raw: bytes = field(default=b"", repr=False)

    def json(self) -> dict[str, object]:
        out: dict[str, object] = json.loads(self.body)
        return out

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def exchange(
    port: int, data: bytes, *, drip: Sequence[bytes] = (), pause_s: float = 0.0, timeout_s: float = 15.0
) -> Reply:
    """Sends ``data`` (then each of ``drip`` after ``pause_s``), reads one response until the server closes."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        try:
            sock.sendall(data)
            for piece in drip:
                time.sleep(pause_s)
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        raw = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
                if _complete(raw):
                    break
        except ConnectionResetError:
            pass
    elapsed = time.monotonic() - start
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        raise AssertionError(f"no HTTP response: {raw[:200]!r}")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Reply(int(lines[0].split()[1]), headers, body, elapsed, raw)


def _complete(raw: bytes) -> bool:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def request(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    length: int | None = None,
) -> bytes:
    """A raw HTTP/1.1 request that asks the server to close after answering."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or length is not None:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
