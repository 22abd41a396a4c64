from pathlib import Path

import pytest

from training.cli import main


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--ticker" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("Date,Close\n2024-01-02,1\n2024-01-02,2\n", "duplicated date"),
        ("Date,Close\n2024-01-03,1\n2024-01-02,2\n2024-01-04,2\n", "not sorted"),
        ("Date,Open\n2024-01-02,1\n", "no 'Close' column"),
        ("Date,Close\n2024-01-02,NaN\n", "is not a finite number"),
        ("Date,Close\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 30)), "too few"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, reason: str
) -> None:
    csv = tmp_path / "prices.csv"
    csv.write_text(content)
    code = main(["--csv", str(csv), "--start", "2000-01-01", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and reason in err and "\n" not in err
    assert not (tmp_path / "run").exists()


def test_missing_csv_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--csv", str(tmp_path / "nope.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_end_before_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--start", "2024-01-01", "--end", "2023-01-01"]) == 2
    assert "before" in capsys.readouterr().err


def test_bad_window_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--window", "0"])
    assert exc.value.code == 2
