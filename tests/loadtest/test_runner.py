"""The benchmark runner end to end, briefly: real Locust users against servers it starts itself."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.run import SCENARIOS, ratios, summarise

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_runner_drives_the_facade_and_tf_serving_with_locust(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    scenarios = ["facade embedded 1-step", "facade embedded CSV 10-step", "grpc forecast 10-step"]
    proc = subprocess.run(
        [sys.executable, "-m", "loadtest.run", "--duration", "3", "--users", "2", "--models-dir", str(models_dir),
         "--out", str(out), "--scenarios", *scenarios],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == set(scenarios)
    for name, row in summary.items():
        assert row["requests"] > 0 and row["failures"] == 0, name
    assert (out / "latency.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "facade_embedded_1-step_stats.csv").is_file()  # Locust's own CSVs are kept
    assert "| facade embedded 1-step" in proc.stdout


def test_summary_reads_locusts_aggregated_row(tmp_path: Path) -> None:
    header = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Requests/s,50%,95%,99%"
    rows = ["POST,/predict 1 step,100,1,4,4.5,50.0,4,9,12", ",Aggregated,100,1,4,4.5,50.0,4,9,12"]
    (tmp_path / "x_stats.csv").write_text("\n".join([header, *rows]) + "\n")
    assert summarise(tmp_path / "x") == {
        "requests": 100, "failures": 1, "rps": 50.0, "p50": 4.0, "p95": 9.0, "p99": 12.0, "avg": 4.5
    }  # fmt: skip


def test_ratios_compare_the_tracked_pairs() -> None:
    row = {"requests": 10, "failures": 0, "p95": 1.0}
    results = {
        "ceiling 1-step": {**row, "rps": 1000.0, "p50": 2.0, "p99": 3.0, "avg": 2.0},
        "facade embedded 1-step": {**row, "rps": 600.0, "p50": 5.0, "p99": 20.0, "avg": 5.0},
        "facade embedded 10-step graph": {**row, "rps": 300.0, "p50": 10.0, "p99": 30.0, "avg": 10.0},
        "baseline 10-step": {**row, "rps": 3.0, "p50": 1000.0, "p99": 2000.0, "avg": 1000.0},
    }
    text = "\n".join(ratios(results))
    assert "0.60x req/s" in text and "100x req/s, 100x lower p50" in text


def test_scenario_names_are_unique() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.slow
def test_client_comparison_times_both_clients_on_a_real_server(models_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtest.clients", "--models-dir", str(models_dir), "--calls", "5", "--rounds", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rounds = [line for line in proc.stdout.splitlines() if line.startswith("round ")]
    assert len(rounds) == 2 and all("official client" in r and "facade's client" in r for r in rounds)


@pytest.mark.slow
def test_in_process_harness_drives_both_apps_with_every_feature_on(models_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtest.inprocess", "--models-dir", str(models_dir), "--requests", "16",
         "--concurrency", "4", "--rounds", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    chunks = [line for line in proc.stdout.splitlines() if line.startswith("chunk ")]
    assert len(chunks) == 2 and "best of each, main thread" in proc.stdout
