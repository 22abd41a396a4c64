import threading
import time
from pathlib import Path

import pytest

from common.contract import labels_path, metadata_asset_path, metadata_path
from common.labels import read_labels
from common.metadata import read_metadata
from export.cli import main as export_cli
from export.versions import list_versions, next_version, publish, retire


def slow_build(staging: Path, _number: int) -> None:
    """Writes a SavedModel-shaped folder file by file, slowly, as a real export does."""
    (staging / "variables").mkdir(parents=True)
    for name in ("variables/variables.index", "variables/variables.data-00000-of-00001", "fingerprint.pb"):
        (staging / name).write_bytes(b"x" * 1000)
        time.sleep(0.002)
    (staging / "saved_model.pb").write_bytes(b"graph")


def complete(folder: Path) -> bool:
    names = {"saved_model.pb", "fingerprint.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"}
    return all((folder / n).is_file() for n in names)


def test_a_poller_never_sees_a_half_written_version(tmp_path: Path) -> None:
    model_dir = tmp_path / "aapl"
    seen_incomplete: list[str] = []
    checks = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal checks
        while not done.is_set():
            for child in model_dir.glob("*"):
                if child.name.isdigit():
                    checks += 1
                    if not complete(child):
                        seen_incomplete.append(child.name)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for _ in range(30):
            publish(model_dir, slow_build)
    finally:
        done.set()
        poller.join()
    assert list_versions(model_dir) == list(range(1, 31))
    assert checks > 30 and not seen_incomplete
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".staging")]


def test_a_failed_build_leaves_no_version(tmp_path: Path) -> None:
    def broken(staging: Path, _n: int) -> None:
        staging.mkdir()
        (staging / "saved_model.pb").write_bytes(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        publish(tmp_path / "m", broken)
    assert list_versions(tmp_path / "m") == [] and not list((tmp_path / "m").iterdir())


def test_existing_version_is_never_overwritten(tmp_path: Path) -> None:
    publish(tmp_path / "m", slow_build, version=3)
    with pytest.raises(FileExistsError):
        publish(tmp_path / "m", slow_build, version=3)


def test_retired_numbers_are_not_reused(tmp_path: Path) -> None:
    m = tmp_path / "m"
    publish(m, slow_build)
    publish(m, slow_build)
    retire(m, 2)
    assert list_versions(m) == [1]
    assert next_version(m) == 3


@pytest.mark.slow
def test_cli_roll_back_and_republish(models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    base = tmp_path / "models"
    shutil.copytree(models_dir, base)
    m = base / "aapl"
    assert export_cli(["--models-dir", str(base), "retire", "--model", "aapl", "2"]) == 0
    assert list_versions(m) == [1]
    assert export_cli(["--models-dir", str(base), "republish", "--model", "aapl", "2"]) == 0
    assert list_versions(m) == [1, 3]
    meta = read_metadata(m / "3")
    assert meta.version == 3 and meta.republished_from is not None and meta.republished_from.version == 2
    # The copy the graph's metadata signature returns says the same.
    assert metadata_asset_path(m / "3").read_text() == metadata_path(m / "3").read_text()
    assert export_cli(["--models-dir", str(base), "list"]) == 0
    out = capsys.readouterr().out
    assert "aapl\t1\t" in out and "aapl\t3\t" in out
    assert export_cli(["--models-dir", str(base), "retire", "--model", "aapl", "9"]) == 2
    assert "no version 9" in capsys.readouterr().err


def test_publish_without_a_run_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = export_cli(["--models-dir", str(tmp_path), "publish", "--ticker", "MSFT", "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "no training run for 'msft'" in capsys.readouterr().err


def test_cli_labels_name_live_versions_only(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    base = tmp_path / "models"
    shutil.copytree(models_dir, base)
    cli = ["--models-dir", str(base)]
    assert export_cli([*cli, "label", "--model", "aapl", "stable", "1"]) == 0
    assert export_cli([*cli, "label", "--model", "aapl", "canary", "2"]) == 0
    assert read_labels(base / "aapl") == {"stable": 1, "canary": 2}
    assert export_cli([*cli, "label", "--model", "aapl", "canary", "7"]) == 2
    assert "must name a live version of aapl (versions: [1, 2])" in capsys.readouterr().err
    assert export_cli([*cli, "label", "--model", "aapl", "2nd", "1"]) == 2
    assert "is not a label" in capsys.readouterr().err
    assert export_cli([*cli, "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("[stable]") and out.splitlines()[1].endswith("[canary]")
    assert export_cli([*cli, "label", "--model", "aapl", "--remove", "canary"]) == 0
    assert read_labels(base / "aapl") == {"stable": 1}
    labels_path(base / "aapl").write_text("{broken")
    assert export_cli([*cli, "label", "--model", "aapl", "canary", "2"]) == 2
    assert "is not JSON" in capsys.readouterr().err
