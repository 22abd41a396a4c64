"""In tfserving mode the facade never imports TensorFlow, scikit-learn or pandas."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.facade.conftest import ADMIN

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from facade.app import create_app
from facade.config import Settings

settings = Settings(_env_file=None, backend="tfserving", tfserving_address=sys.argv[1], models_dir=Path(sys.argv[2]),
                    keys_url="sqlite:///" + sys.argv[3], admin_token=sys.argv[4])
closes = [100.0 + i for i in range(80)]
with TestClient(create_app(settings)) as client:
    key = client.post("/generate_api_key", headers={"x-admin-token": sys.argv[4]}).json()["api_key"]
    one = client.post("/predict", headers={"x-api-key": key}, json={"prices": closes, "steps": 3})
    csv = "Date,Close\n" + "".join(f"2024-01-{d:02d},{100 + d}\n" for d in range(1, 29))
    two = client.post("/predict_csv", headers={"x-api-key": key}, files={"file": ("p.csv", csv.encode())})
banned = {"tensorflow", "keras", "sklearn", "pandas", "tensorflow_serving"}
heavy = sorted(m for m in sys.modules if m.split(".")[0] in banned)
print(json.dumps({"status": [one.status_code, two.status_code], "version": one.json().get("version"), "heavy": heavy}))
"""


def test_grpc_path_imports_no_tensorflow(grpc_target: str, models_dir: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, grpc_target, str(models_dir), str(tmp_path / "k.db"), ADMIN],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == [200, 200]
    assert result["version"] == 2
    assert result["heavy"] == []
