"""The processes a reliability check runs against, on loopback: the local gRPC server and real facades.

Each facade is ``python -m facade`` (uvicorn with every HTTP-layer limit), so
what is measured is what ships. :class:`Client` is a small keep-alive HTTP
client (stdlib ``http.client``, one connection per thread) for load.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

from loadtest import procs

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Live:
    """A running facade."""

    base: str
    port: int
    proc: Popen[bytes]
    log: Path
    admin_token: str


def facade_env(
    *, port: int, models_dir: Path, keys_db: Path, admin_token: str, grpc_target: str | None, **settings: str
) -> dict[str, str]:
    """FACADE_* variables for a facade on ``port``: tfserving backend on ``grpc_target``, else embedded."""
    env = {
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "FACADE_ADMIN_TOKEN": admin_token,
        "FACADE_BACKEND": "tfserving" if grpc_target else "embedded",
        "FACADE_MODELS_DIR": str(models_dir),
        "FACADE_KEYS_URL": f"sqlite:///{keys_db}",  # an absolute path: sqlite:////abs/keys.sqlite3
        "FACADE_PORT": str(port),
        "FACADE_LOG_JSON": "true",
        "FACADE_VERSION_REFRESH_S": "0.2",
    }
    if grpc_target:
        env["FACADE_TFSERVING_ADDRESS"] = grpc_target
    env.update({f"FACADE_{k.upper()}": v for k, v in settings.items()})
    return env


def start_facade(
    workdir: Path,
    *,
    models_dir: Path,
    grpc_target: str | None = None,
    admin_token: str | None = None,
    port: int | None = None,
    keys_db: Path | None = None,
    **settings: str,
) -> tuple[Live, Popen[bytes]]:
    """Spawns a facade and waits for ``/ready``; the caller stops it (see :func:`facade` for a managed one)."""
    port = port or procs.free_port()
    token = admin_token or secrets.token_urlsafe(24)
    env = facade_env(
        port=port,
        models_dir=models_dir,
        keys_db=keys_db or workdir / "keys.sqlite3",
        admin_token=token,
        grpc_target=grpc_target,
        **settings,
    )
    log = workdir / f"facade-{port}-{time.monotonic_ns()}.log"
    out = log.open("wb")
    # The caller's FACADE_* variables stay out: the facade runs with exactly the settings given here.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("FACADE_")}
    proc = Popen([sys.executable, "-m", "facade"], env={**inherited, **env}, stdout=out, stderr=out)
    out.close()  # the child holds its own descriptor
    try:
        procs.wait_http(f"http://127.0.0.1:{port}/ready", timeout=120)
    except TimeoutError:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the facade did not become ready; its log:\n{log.read_text()[-3000:]}") from None
    return Live(f"http://127.0.0.1:{port}", port, proc, log, token), proc


@contextmanager
def facade(workdir: Path, *, models_dir: Path, grpc_target: str | None = None, **kwargs: Any) -> Iterator[Live]:
    """A facade for the duration of the block, stopped with SIGTERM (then SIGKILL) at the end."""
    live, proc = start_facade(workdir, models_dir=models_dir, grpc_target=grpc_target, **kwargs)
    try:
        yield live
    finally:
        stop(proc)


def stop(proc: Popen[bytes], timeout_s: float = 20.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except Exception:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


@contextmanager
def grpc_server(models_dir: Path, workdir: Path, *, port: int | None = None) -> Iterator[str]:
    """The local TF Serving-API server (``python -m modelserver``) over ``models_dir``; yields its target."""
    port = port or procs.free_port()
    with procs.grpc_server(models_dir, port, log=workdir / f"grpc-{port}.log"):
        procs.wait_port(port, timeout=120)
        yield f"127.0.0.1:{port}"


class Client:
    """One keep-alive connection to a facade (not thread-safe: one per thread)."""

    def __init__(self, port: int, *, timeout_s: float = 30.0) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self.last_headers: dict[str, str] = {}

    def call(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Sends one request; returns the status and the JSON reply ({} when it is not JSON)."""
        for attempt in (1, 2):
            conn = self._conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
            self._conn = conn
            try:
                conn.request(method, path, body=body or None, headers=headers or {})
                reply = conn.getresponse()
                data = reply.read()
                self.last_headers = {k.lower(): v for k, v in reply.getheaders()}
                if reply.getheader("connection", "").lower() == "close":
                    self.close()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue  # the server closed an idle keep-alive connection: one fresh try
            try:
                parsed = json.loads(data) if data else {}
            except ValueError:
                parsed = {}
            return reply.status, parsed if isinstance(parsed, dict) else {"items": parsed}
        raise AssertionError("unreachable")

    def predict(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self.call(
            "POST",
            "/predict",
            body=json.dumps(body).encode(),
            headers={"x-api-key": key, "content-type": "application/json"},
        )

    def mint(self, admin_token: str, name: str = "reliability") -> tuple[int, dict[str, Any]]:
        return self.call(
            "POST",
            "/generate_api_key",
            body=json.dumps({"name": name}).encode(),
            headers={"x-admin-token": admin_token, "content-type": "application/json"},
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mint_key(live: Live, name: str = "reliability") -> str:
    with Client(live.port) as client:
        status, body = client.mint(live.admin_token, name)
    if status != 201:
        raise RuntimeError(f"minting failed: {status} {body}")
    return str(body["api_key"])


def history(n: int, *, start: float = 150.0) -> list[float]:
    """A plausible price history of ``n`` days (a gentle trend with a weekly wiggle)."""
    return [round(start + 0.25 * i + (i % 5), 4) for i in range(n)]
