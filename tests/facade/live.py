"""A real facade (``python -m facade``, uvicorn) on loopback for tests that start several (raw sockets:
``loadtest.reliability.rawhttp``; managed facades with credentials: ``loadtest.reliability.stack``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

from loadtest import procs
from loadtest.reliability.stack import ROOT
from tests.facade.conftest import ADMIN

__all__ = ["ROOT", "Live", "live_facade"]


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
