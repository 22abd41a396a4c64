from pathlib import Path

import pytest

from loadtest import modelcall

pytestmark = pytest.mark.slow  # both read a trained model


@pytest.mark.parametrize("call", ["flat", "public"])
def test_one_row_per_batch_size_with_its_cost_per_row(
    models_dir: Path, capsys: pytest.CaptureFixture[str], call: str
) -> None:
    assert modelcall.main(["--models-dir", str(models_dir), "--batches", "1", "4", "--calls", "5", "--call", call]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"aapl version 2, serving_default, {call} call, 5 calls per batch size")
    count, text = lines[1].split(" ", 1)
    assert int(count) > 0 and text.startswith("graph nodes, each run by TensorFlow's executor: ")
    rows = [[float(cell) for cell in line.split("|")] for line in lines[3:]]
    assert [row[0] for row in rows] == [1, 4]
    for batch, wall, thread, process, per_row in rows:
        assert wall > 0 and process >= thread > 0
        assert per_row == pytest.approx(process / batch, abs=1)


def test_a_signature_of_several_inputs_is_refused(models_dir: Path) -> None:
    from modelserver.repository import ModelRepository

    repo = ModelRepository(models_dir, keep=1)
    repo.refresh()
    with pytest.raises(ValueError, match="one-input signatures"):
        modelcall.measure(repo.get("aapl", 2), "forecast", 1, 1)
