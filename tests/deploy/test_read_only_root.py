"""The facade works where Kubernetes runs it: a read-only root filesystem, writable only where it mounts emptyDirs.

The test runs ``python -m facade`` in a private mount namespace whose root is remounted read-only, with one
tmpfs standing in for the emptyDirs of deploy/k8s (``/tmp`` and ``PROMETHEUS_MULTIPROC_DIR``), against the
local TF Serving-API server, with the manifest's worker count.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from loadtest import procs
from tests.deploy.k8s import ROOT, container, env, get

ADMIN = "read-only-root-admin-token-0123456789"
pytestmark = pytest.mark.slow


def _can_remount_read_only() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = ["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -o remount,bind,ro / && ! touch /.rw"]
    return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0


def _call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


REQUESTS = 8


def _exercise(base: str, log: Path) -> str:
    """Mints a key, makes REQUESTS forecasts with it, and returns /metrics."""
    status, body = _call(
        "POST",
        f"{base}/generate_api_key",
        json.dumps({"name": "ro"}).encode(),
        {"x-admin-token": ADMIN, "content-type": "application/json"},
    )
    assert status == 201, body.decode() + log.read_text()[-3000:]
    key = json.loads(body)["api_key"]
    prices = [float(line.split(",")[4]) for line in (ROOT / "data" / "AAPL.csv").read_text().splitlines()[-60:]]
    headers = {"x-api-key": key, "content-type": "application/json"}
    for _ in range(REQUESTS):
        status, body = _call("POST", f"{base}/predict", json.dumps({"prices": prices, "steps": 5}).encode(), headers)
        assert status == 200, body.decode() + log.read_text()[-3000:]
    return _call("GET", f"{base}/metrics")[1].decode()


def test_facade_serves_on_a_read_only_root(models_dir: Path, tmp_path: Path) -> None:
    if not _can_remount_read_only():
        pytest.skip("needs root and mount namespaces (unshare) to remount / read-only")
    manifest = container(get("prod", "Deployment", "facade"), "facade")
    workers = env(manifest)["FACADE_WORKERS"]["value"]
    writable = tmp_path / "writable"
    writable.mkdir()
    grpc_port, port = procs.free_port(), procs.free_port()
    facade_env = {
        "PYTHONPATH": str(ROOT),
        "HOME": str(writable),
        "TMPDIR": str(writable),
        "PROMETHEUS_MULTIPROC_DIR": str(writable / "metrics"),
        "FACADE_ENVIRONMENT": "production",
        "FACADE_ADMIN_TOKEN": ADMIN,
        "FACADE_BACKEND": "tfserving",
        "FACADE_TFSERVING_ADDRESS": f"127.0.0.1:{grpc_port}",
        "FACADE_MODELS_DIR": str(models_dir),
        # Keys in SQLite on the tmpfs: the key database is the one file this test's facade writes outside
        # /tmp (in the cluster it is PostgreSQL). Both names, whichever the facade reads.
        "FACADE_KEYS_DB": str(writable / "keys.sqlite3"),
        "FACADE_KEYS_URL": f"sqlite:///{writable / 'keys.sqlite3'}",
        "FACADE_HOST": "127.0.0.1",
        "FACADE_PORT": str(port),
        "FACADE_WORKERS": workers,
    }
    # The tmpfs is mounted first, then the root (everything else: the sources, the venv, models_dir) goes
    # read-only; both only inside the namespace.
    script = f'mount -t tmpfs tmpfs "{writable}" && mount -o remount,bind,ro / && exec "$@"'
    command = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", sys.executable, "-m", "facade"]
    log = tmp_path / "facade.log"
    with procs.grpc_server(models_dir, grpc_port, log=tmp_path / "grpc.log"):
        # The server first: a worker that starts before it waits out gRPC's reconnect backoff, and the other
        # worker may answer /ready meanwhile (readiness is per pod, not per worker).
        procs.wait_port(grpc_port, timeout=120)
        with procs.process(command, env=facade_env, log=log):
            procs.wait_http(f"http://127.0.0.1:{port}/ready", timeout=120)
            metrics = _exercise(f"http://127.0.0.1:{port}", log)
    served = [ln for ln in metrics.splitlines() if ln.startswith('facade_requests_total{endpoint="/predict"')]
    # Every worker's requests, added up from the multiprocess files on the tmpfs.
    assert served == [f'facade_requests_total{{endpoint="/predict",status="200"}} {float(REQUESTS)}'], served
    text = log.read_text()
    assert "Read-only file system" not in text and "Traceback" not in text, text[-2000:]
