"""Loopback servers for the Prometheus test: a TF Serving-shaped exporter, a facade, a Prometheus."""

import http.server
import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from loadtest.procs import free_port

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = ROOT / "monitoring" / "prometheus" / "prometheus.yml"
TFS_PATH = "/monitoring/prometheus/metrics"


def tfserving_page(n: int) -> str:
    """TF Serving's exporter output after ``n`` scrapes' worth of traffic, in its own format.

    Names, labels and layout as tensorflow_serving/model_servers/prometheus_exporter.cc
    writes them ('/' becomes ':', counters without ``_total``, ``{}`` when unlabelled),
    for the metrics the dashboard reads: request_count, request_latency (µs),
    batching_session wrapped_run_count and queuing_latency (µs).
    """
    lines = [
        "# TYPE :tensorflow:serving:request_count counter",
        f':tensorflow:serving:request_count{{model_name="aapl",status="OK"}} {10 * n}',
        "# TYPE :tensorflow:serving:request_latency histogram",
    ]
    labels = 'model_name="aapl",API="predict",entrypoint="GRPC"'
    for le, count in (("100", 2 * n), ("1000", 9 * n), ("10000", 10 * n), ("+Inf", 10 * n)):
        lines.append(f':tensorflow:serving:request_latency_bucket{{{labels},le="{le}"}} {count}')
    lines += [
        f":tensorflow:serving:request_latency_sum{{{labels}}} {4000 * n}",
        f":tensorflow:serving:request_latency_count{{{labels}}} {10 * n}",
        "# TYPE :tensorflow:serving:batching_session:wrapped_run_count counter",
        f":tensorflow:serving:batching_session:wrapped_run_count{{}} {4 * n}",
        "# TYPE :tensorflow:serving:batching_session:queuing_latency histogram",
    ]
    pool = 'thread_pool_name="aapl"'
    for le, count in (("100", n), ("1000", 3 * n), ("+Inf", 4 * n)):
        lines.append(f':tensorflow:serving:batching_session:queuing_latency_bucket{{{pool},le="{le}"}} {count}')
    lines += [
        f":tensorflow:serving:batching_session:queuing_latency_sum{{{pool}}} {900 * n}",
        f":tensorflow:serving:batching_session:queuing_latency_count{{{pool}}} {4 * n}",
    ]
    return "\n".join(lines) + "\n"


@contextmanager
def tfserving_exporter() -> Iterator[str]:
    """Serves ``tfserving_page`` at TF Serving's metrics path; yields host:port."""
    scrapes = 0

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            nonlocal scrapes
            if self.path != TFS_PATH:
                self.send_error(404)
                return
            scrapes += 1
            body = tfserving_page(scrapes).encode()
            self.send_response(200)
            self.send_header("content-type", "text/plain; version=0.0.4")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def prometheus_config(folder: Path, *, facade: str, tfserving: str) -> Path:
    """The shipped config with loopback targets, a 1 s scrape interval and the rule files by absolute path."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / r) for r in config["rule_files"]]
    targets = {"facade": facade, "tfserving": tfserving}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def prometheus(config: Path, folder: Path) -> Iterator[str]:
    """Debian's prometheus on a free loopback port, data in ``folder``; yields its base URL."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (apt-get install prometheus; .ci/run does it)"
    port = free_port()
    log = (folder / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (folder / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def query(base: str, expr: str) -> list[dict[str, Any]]:
    """An instant query; the result vector."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=30) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def value(base: str, expr: str) -> float:
    result = query(base, expr)
    assert len(result) == 1, f"{expr}: {result}"
    return float(result[0]["value"][1])
