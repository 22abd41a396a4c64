"""serving_config/healthcheck.sh against a stand-in for TF Serving's REST model-status endpoint."""

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "serving_config" / "healthcheck.sh"
CONFIG = ROOT / "serving_config" / "models.config"
STATES: dict[str, str] = {}


class Status(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        model = self.path.rsplit("/", 1)[-1]
        if model not in STATES:
            self.send_response(404)
            self.end_headers()
            return
        # TF Serving answers 200 while a version is still LOADING: only the state tells.
        body = {"model_version_status": [{"version": "1", "state": STATES[model], "status": {"error_code": "OK"}}]}
        data = json.dumps(body, indent=1).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rest_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def run(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), str(CONFIG), str(port)], capture_output=True, text=True, timeout=20)


def test_healthy_when_every_model_is_available(rest_port: int) -> None:
    STATES.clear()
    STATES.update({m: "AVAILABLE" for m in ("aapl", "msft", "petr4_sa", "bvsp")})
    out = run(rest_port)
    assert out.returncode == 0, out.stdout
    assert "aapl" in out.stdout and "bvsp" in out.stdout


def test_unhealthy_while_a_model_is_loading(rest_port: int) -> None:
    STATES.clear()
    STATES.update({"aapl": "AVAILABLE", "msft": "LOADING", "petr4_sa": "AVAILABLE", "bvsp": "AVAILABLE"})
    out = run(rest_port)
    assert out.returncode == 1 and "msft is not AVAILABLE" in out.stdout


def test_unhealthy_when_a_model_is_missing(rest_port: int) -> None:
    STATES.clear()
    STATES.update({"aapl": "AVAILABLE"})
    assert run(rest_port).returncode == 1


def test_unhealthy_when_the_server_is_down() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert run(port).returncode == 1
