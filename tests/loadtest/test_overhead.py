import os
import re
import threading
import time
from pathlib import Path

import pytest

from loadtest import overhead, procs

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
    # What each kind of call cost, by process and thread: the HTTP client's or the official client's own thread.
    assert lines[4].startswith("CPU per call over all rounds, by process and thread")
    assert re.match(r"  facade calls: client: calling thread \d+", lines[5]), lines[5]
    assert re.match(r"  grpc calls: client: calling thread \d+", lines[6]), lines[6]


def test_a_second_checkout_joins_every_round(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = Path(__file__).resolve().parents[2]  # this checkout, compared with itself
    argv = ["--models-dir", str(models_dir), "--rounds", "2", "--calls", "3", "--work", str(tmp_path)]
    assert overhead.main([*argv, "--compare", str(checkout)]) == 0
    lines = capsys.readouterr().out.splitlines()
    number = r"\d+\.\d{3}"
    for line in lines[1:3]:
        pattern = rf"round +\d: facade {number} ms, official gRPC client {number} ms: [+-]{number}; "
        assert re.fullmatch(pattern + rf"compared facade {number} ms: [+-]{number}", line), line
    assert re.fullmatch(
        rf"compared facade \({re.escape(str(checkout))}\): overhead [+-]{number} ms; "
        rf"this facade minus it [+-]{number} ms \(medians of the rounds\)",
        lines[4],
    ), lines[4]


def test_thread_cpu_counts_each_living_thread_by_name() -> None:
    burnt, stop = threading.Event(), threading.Event()

    def burn() -> None:
        start = time.thread_time()
        while time.thread_time() - start < 0.2:
            pass
        burnt.set()
        stop.wait(5)  # alive until counted: an ended thread is no longer listed

    before = procs.thread_cpu(os.getpid())
    worker = threading.Thread(target=burn)
    worker.start()
    start = time.thread_time()
    while time.thread_time() - start < 0.2:
        pass
    assert burnt.wait(5)
    after = procs.thread_cpu(os.getpid())
    stop.set()
    worker.join()
    assert after["main"] - before["main"] >= 0.15
    others = sum(after.values()) - after["main"] - (sum(before.values()) - before["main"])
    assert others >= 0.15


def test_compare_needs_a_checkout(models_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        overhead.main(["--models-dir", str(models_dir), "--work", str(tmp_path), "--compare", str(tmp_path)])
