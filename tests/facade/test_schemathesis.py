"""Schemathesis, every check on, positive and negative data, against a real facade: 0 failures.

Runs the CLI (``tests/facade/st_config/schemathesis.toml``; the two narrow
exceptions are justified there and in docs/reliability.md) over every
operation, with an API key and the admin token, on a bounded budget.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.reliability.stack import ROOT, Live, facade, mint_key
from tests.facade.conftest import ADMIN

pytestmark = pytest.mark.slow
CONFIG = Path(__file__).parent / "st_config" / "schemathesis.toml"
MAX_EXAMPLES = 60  # per operation and phase: about a minute on two cores
SEED = 20240611


@pytest.fixture(scope="module")
def live(grpc_target: str, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with facade(
        tmp_path_factory.mktemp("schemathesis"),
        models_dir=models_dir,
        grpc_target=grpc_target,
        admin_token=ADMIN,
        # Schemathesis mints keys and sends bad credentials by the hundred; the limits are tested elsewhere
        # (test_ratelimit.py), and here they would turn its checks into a test of the 429s.
        rate_limit_per_key="1000000/minute",
        rate_limit_auth_failures="1000000/minute",
        rate_limit_minting="1000000/minute",
    ) as server:
        yield server


def test_schemathesis_finds_no_failure(live: Live, tmp_path: Path) -> None:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    args = [
        exe, "--config-file", str(CONFIG), "run", f"{live.base}/openapi.json",
        "--mode", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--no-color",
        "--header", f"x-api-key: {mint_key(live, 'schemathesis')}", "--header", f"x-admin-token: {ADMIN}",
        "--report", "ndjson", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Operations:       9 selected / 9 total" in proc.stdout

    # The run exercised the success paths too, not only refusals, and the facade never failed.
    statuses: Counter[tuple[str, int]] = Counter()
    for line in live.log.read_text().splitlines():
        if line.startswith("{") and '"facade.access"' in line:
            entry = json.loads(line)
            statuses[(entry["path"], entry["status"])] += 1
    assert statuses[("/predict", 200)] > 0 and statuses[("/generate_api_key", 201)] > 0, statuses
    assert not [k for k in statuses if k[1] >= 500], statuses
