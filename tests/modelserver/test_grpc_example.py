"""The README's gRPC consumer example, run as written against TF Serving's API."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelserver.grpc_server import serve
from modelserver.repository import ModelRepository
from tests.conftest import SMALL

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def target(models_dir: Path) -> Iterator[str]:
    repo = ModelRepository(models_dir)
    repo.refresh()
    server, port = serve(repo)
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


def test_example_prints_a_forecast_from_the_newest_version(target: str) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "grpc_forecast.py"), "--target", target, "--steps", "3"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith(f"model aapl version 2 (AAPL, window {SMALL.window}), last close 249.")
    assert [ln.split(":")[0].strip() for ln in lines[1:]] == ["day +1", "day +2", "day +3"]
