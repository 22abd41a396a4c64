import re
import subprocess
import sys
from pathlib import Path

import pytest

from facade.config import Settings


def test_missing_admin_token_stops_startup_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FACADE_ADMIN_TOKEN is not set"):
        Settings(_env_file=None).check_startup()  # type: ignore[call-arg]
    # In an empty folder (no .env) with no FACADE_* variables: the real entry point refuses to start.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-m", "facade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "FACADE_ADMIN_TOKEN is not set" in proc.stderr


def test_tfserving_backend_needs_an_address() -> None:
    s = Settings(_env_file=None, admin_token="x" * 20, backend="tfserving")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="FACADE_TFSERVING_ADDRESS"):
        s.check_startup()


def test_auto_backend_follows_the_address() -> None:
    assert Settings(_env_file=None).backend_kind == "embedded"  # type: ignore[call-arg]
    assert Settings(_env_file=None, tfserving_address="tfs:8500").backend_kind == "tfserving"  # type: ignore[call-arg]


def test_the_readme_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ", 1)]
    missing = [name for name in Settings.model_fields if not re.search(rf"FACADE_{name.upper()}(?![A-Z_])", table)]
    assert missing == []


def test_csv_limits_are_bounded_by_the_csv_module() -> None:
    with pytest.raises(ValueError, match="csv_max_field_chars"):
        Settings(_env_file=None, csv_max_field_chars=10**9)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_steps"):
        Settings(_env_file=None, max_steps=366)  # type: ignore[call-arg]
