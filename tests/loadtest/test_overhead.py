import re
from pathlib import Path

import pytest

from loadtest import overhead

pytestmark = pytest.mark.slow  # reads a trained model


@pytest.mark.parametrize("steps", [1, 10])
def test_both_sides_answer_in_every_round(
    steps: int, models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--models-dir", str(models_dir), "--steps", str(steps), "--rounds", "2", "--calls", "3"]
    assert overhead.main([*argv, "--work", str(tmp_path)]) == 0  # a facade answer other than 200 raises
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{steps}-step calls, one user, 2 rounds of 3 calls of each kind"
    number = r"(\d+\.\d{3})"
    for i, line in enumerate(lines[1:3], start=1):
        found = re.fullmatch(
            rf"round +{i}: facade {number} ms, official gRPC client {number} ms: ([+-]\d+\.\d{{3}})", line
        )
        assert found, line
        facade, grpc_ms, difference = (float(g) for g in found.groups())
        assert difference == pytest.approx(facade - grpc_ms, abs=0.002)
    assert lines[3].startswith("median: facade ") and "overhead (median of the rounds' differences)" in lines[3]
