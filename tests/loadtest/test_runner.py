"""The benchmark runner end to end, briefly: real Locust users against servers it starts itself."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.run import PAIRS, SCENARIOS, Scenario, combine, plan, ratios, run_unit, summarise

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_runner_drives_the_facade_and_tf_serving_with_locust(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    scenarios = ["facade embedded 1-step", "ceiling 1-step", "facade embedded CSV 10-step", "grpc forecast 10-step"]
    proc = subprocess.run(
        [sys.executable, "-m", "loadtest.run", "--duration", "4", "--users", "2", "--models-dir", str(models_dir),
         "--out", str(out), "--rounds", "2", "--scenarios", *scenarios],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == set(scenarios)
    for name, row in summary.items():
        assert row["requests"] > 0 and row["failures"] == 0, name
    assert (out / "latency.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "facade_embedded_CSV_10-step_stats.csv").is_file()  # Locust's own CSVs are kept
    # The 1-step facade and the ceiling ran as a pair, in two alternating slices each.
    assert len(summary["facade embedded 1-step"]["rounds"]) == len(summary["ceiling 1-step"]["rounds"]) == 2
    assert (out / "ceiling_1-step_r2_stats.csv").is_file()
    assert "| facade embedded 1-step" in proc.stdout
    assert "the median of 2 alternating rounds" in proc.stdout


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
    names = {s.name for s in SCENARIOS}
    assert all(a in names and b in names for a, b in PAIRS)


def _row(rps: float, *, requests: int = 100, p50: float = 5.0, p99: float = 9.0, avg: float = 5.0) -> dict[str, float]:
    return {"requests": requests, "failures": 0, "rps": rps, "p50": p50, "p95": p99, "p99": p99, "avg": avg}


def test_a_pair_runs_in_alternating_slices_and_adds_them_up(tmp_path: Path) -> None:
    by_name = {s.name: s for s in SCENARIOS}
    chosen = [by_name[n] for n in ("ceiling 1-step", "facade embedded 10-step graph", "facade embedded 1-step")]
    units = plan(chosen)
    # The pair runs where the first of its two was listed; the other scenario alone, in its place.
    assert [[s.name for s in u] for u in units] == [
        ["ceiling 1-step", "facade embedded 1-step"], ["facade embedded 10-step graph"]
    ]  # fmt: skip
    calls: list[tuple[str, int, str]] = []
    rps = {"ceiling 1-step": [1000.0, 500.0, 1000.0], "facade embedded 1-step": [600.0, 300.0, 500.0]}

    def run(scenario: Scenario, host: str, key: str, seconds: int, prefix: Path) -> dict[str, float]:
        calls.append((scenario.name, seconds, prefix.name))
        rate = rps[scenario.name][sum(1 for c in calls if c[0] == scenario.name) - 1]
        return _row(rate, requests=int(rate * seconds), p50=rate / 100, p99=rate / 10, avg=rate / 100)

    hosts = {"ceiling 1-step": ("http://c", "k"), "facade embedded 1-step": ("http://f", "k")}
    results = run_unit(units[0], hosts, duration=12, rounds=3, out=tmp_path, run=run)
    assert calls == [
        ("ceiling 1-step", 4, "ceiling_1-step_r1"), ("facade embedded 1-step", 4, "facade_embedded_1-step_r1"),
        ("ceiling 1-step", 4, "ceiling_1-step_r2"), ("facade embedded 1-step", 4, "facade_embedded_1-step_r2"),
        ("ceiling 1-step", 4, "ceiling_1-step_r3"), ("facade embedded 1-step", 4, "facade_embedded_1-step_r3"),
    ]  # fmt: skip
    facade = results["facade embedded 1-step"]
    assert facade["requests"] == 5600 and facade["rps"] == pytest.approx(5600 / 12)
    assert facade["p50"] == 5.0 and facade["p99"] == 60.0  # median slice's p50, worst slice's p99
    assert facade["avg"] == pytest.approx((6 * 2400 + 3 * 1200 + 5 * 2000) / 5600)
    # The ratio is the median of the rounds' ratios (0.6, 0.6, 0.5), not the ratio of the totals (0.56).
    assert "1-step /predict (embedded) vs HTTP ceiling: 0.60x req/s, the median of 3 alternating rounds: " in "\n".join(
        ratios(results)
    )


def test_overhead_is_the_median_of_the_rounds_differences() -> None:
    facade, grpc_name = PAIRS[1]
    results = {
        facade: combine([_row(300, avg=3.0), _row(200, avg=5.0), _row(300, avg=3.2)]),
        grpc_name: combine([_row(500, avg=2.0), _row(250, avg=4.5), _row(400, avg=2.5)]),
    }
    (line,) = ratios(results)
    assert line.endswith("overhead +0.70 ms, the median of 3 alternating rounds: +1.00, +0.50, +0.70"), line


def test_a_slice_without_requests_is_left_out_of_the_latencies() -> None:
    row = combine([_row(100, avg=4.0), {**_row(0, requests=0), "p50": float("nan")}])
    assert row["requests"] == 100 and row["rps"] == 100 and row["avg"] == 4.0 and row["p50"] == 5.0


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
