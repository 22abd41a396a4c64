"""Benchmark runner: each scenario is a headless Locust run against servers started here.

    python -m loadtest.run [--users 32] [--duration 20] [--scenarios ...] [--tfserving HOST:PORT]

Starts what a scenario needs on 127.0.0.1 (the facade on the embedded
backend and on the tfserving backend, the local TF Serving-API gRPC server
unless ``--tfserving`` names a real one, the baseline app shaped like the
original design, the HTTP-ceiling app), runs Locust headless for a fixed user
count and duration, keeps Locust's CSVs under ``--out``, prints a summary with
the ratios the project tracks, and saves ``latency.png``. Every process it
starts is stopped when its scenario ends; Locust stops itself at the deadline.

The scenarios that the tracked ratios compare run as pairs, in alternating
slices (``--rounds``, default 4, of ``--duration / --rounds`` seconds each):
the 1-step facade against the HTTP ceiling, and each one-user facade
scenario against the same work sent straight to gRPC. This machine's speed
drifts by 2-3x over minutes, so two 20 s runs one after the other can differ
by more than the facade's own cost; slices a few seconds apart see the same
machine. Each ratio is the median of its rounds' ratios, and each overhead
the median of its rounds' differences. A scenario's row adds its slices up:
requests and failures summed, req/s and mean latency over all its requests,
p50 the median of its slices', p95 and p99 the worst slice's.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.contract import DEFAULT_WINDOW
from loadtest import procs
from loadtest.payloads import newest_metadata

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Scenario:
    name: str
    target: str  # ceiling | baseline | grpc | facade-<backend>[-graph]
    user: str
    tag: str
    users: int | None = None  # overrides --users (the overhead pairs run with one user, unqueued)


SCENARIOS = [
    Scenario("ceiling 1-step", "ceiling", "FacadeUser", "predict1"),
    Scenario("facade embedded 1-step", "facade-embedded", "FacadeUser", "predict1"),
    Scenario("facade embedded 10-step loop", "facade-embedded", "FacadeUser", "predict10"),
    Scenario("facade embedded 10-step graph", "facade-embedded-graph", "FacadeUser", "predict10"),
    Scenario("facade embedded CSV 10-step", "facade-embedded", "FacadeUser", "csv"),
    Scenario("facade tfserving 1-step", "facade-tfserving", "FacadeUser", "predict1"),
    Scenario("facade tfserving 10-step loop", "facade-tfserving", "FacadeUser", "predict10"),
    Scenario("facade tfserving 10-step graph", "facade-tfserving-graph", "FacadeUser", "predict10"),
    Scenario("grpc serving_default 1-step", "grpc", "GrpcUser", "grpc1"),
    Scenario("grpc serving_default 10-step loop", "grpc", "GrpcUser", "grpc10loop"),
    Scenario("grpc forecast 10-step", "grpc", "GrpcUser", "grpcforecast10"),
    Scenario("baseline 10-step", "baseline", "FacadeUser", "predict10"),
    # Facade overhead: the same work through the facade and directly, one user, so no queueing.
    Scenario("1 user: facade tfserving 1-step", "facade-tfserving", "FacadeUser", "predict1", users=1),
    Scenario("1 user: grpc serving_default 1-step", "grpc", "GrpcUser", "grpc1", users=1),
    Scenario("1 user: facade tfserving 10-step loop", "facade-tfserving", "FacadeUser", "predict10", users=1),
    Scenario("1 user: grpc serving_default 10-step loop", "grpc", "GrpcUser", "grpc10loop", users=1),
    Scenario("1 user: facade tfserving 10-step graph", "facade-tfserving-graph", "FacadeUser", "predict10", users=1),
    Scenario("1 user: grpc forecast 10-step", "grpc", "GrpcUser", "grpcforecast10", users=1),
]
# Compared in alternating slices when both run: (measured, reference).
PAIRS = [
    ("facade embedded 1-step", "ceiling 1-step"),
    ("1 user: facade tfserving 1-step", "1 user: grpc serving_default 1-step"),
    ("1 user: facade tfserving 10-step loop", "1 user: grpc serving_default 10-step loop"),
    ("1 user: facade tfserving 10-step graph", "1 user: grpc forecast 10-step"),
]


@contextlib.contextmanager
def serve(target: str, *, models_dir: Path, grpc_address: str, work: Path) -> Iterator[str]:
    """Starts the server a scenario targets; yields its base URL (or the gRPC address)."""
    if target == "grpc":
        yield grpc_address
        return
    port = procs.free_port()
    log = work / f"{target}-{port}.log"
    ctx: contextlib.AbstractContextManager[Any]
    if target == "ceiling":
        ctx = procs.process([sys.executable, "-m", "loadtest.ceiling_app", "--port", str(port)], log=log)
    elif target == "baseline":
        run = _newest_run(models_dir)
        args = [sys.executable, "-m", "loadtest.baseline_app", "--run", str(run), "--port", str(port)]
        ctx = procs.process(args, env={"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}, log=log)
    else:
        backend = target.split("-")[1]
        env = {
            "FACADE_BACKEND": backend,
            "FACADE_MODELS_DIR": str(models_dir),
            "FACADE_KEYS_URL": f"sqlite:///{work / f'keys-{port}.db'}",
            "FACADE_FORECAST_MODE": "graph" if target.endswith("-graph") else "loop",
            "FACADE_LOG_LEVEL": "WARNING",
        }
        if backend == "tfserving":
            env["FACADE_TFSERVING_ADDRESS"] = grpc_address
        ctx = procs.facade(port, env=env, log=log)
    with ctx:
        base = f"http://127.0.0.1:{port}"
        if target.startswith("facade"):
            procs.wait_http(f"{base}/ready")
        else:
            procs.wait_port(port)
        yield base


def _newest_run(models_dir: Path) -> Path:
    """The training run the newest aapl version was exported from (the baseline loads its .h5)."""
    meta = newest_metadata("aapl", models_dir)
    if meta is None:
        raise SystemExit(f"no aapl version under {models_dir}: run `make run` or `python -m training.seed` first")
    return Path(meta.source_run)


def _mint(base: str, target: str) -> str:
    if target.startswith("facade"):
        return procs.mint_key(base)
    import urllib.request

    req = urllib.request.Request(f"{base}/generate_api_key", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        return str(json.load(r)["api_key"])


def run_locust(
    scenario: Scenario, host: str, *, key: str, users: int, duration: int, prefix: Path, models_dir: Path
) -> dict[str, Any]:
    args = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "loadtest" / "locustfile.py"),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{duration}s",
        "--stop-timeout",
        "5",
        "--csv",
        str(prefix),
        "--csv-full-history",
        "--only-summary",
        "--tags",
        scenario.tag,
        "--loglevel",
        "WARNING",
    ]
    meta = newest_metadata("aapl", models_dir)
    env = {"LOADTEST_API_KEY": key, "LOADTEST_WINDOW": str(meta.window if meta else DEFAULT_WINDOW)}
    if scenario.user == "GrpcUser":
        env["LOADTEST_GRPC_TARGET"] = host
    else:
        args += ["--host", host]
    args.append(scenario.user)
    import os

    with Path(f"{prefix}_locust.log").open("w") as log:
        subprocess.run(  # noqa: S603 - our own interpreter and arguments
            args,
            env={**os.environ, **env, "TF_CPP_MIN_LOG_LEVEL": "3"},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=duration + 120,
            check=False,
        )
    return summarise(prefix)


def summarise(prefix: Path) -> dict[str, Any]:
    with Path(f"{prefix}_stats.csv").open() as fh:
        rows = {r["Name"]: r for r in csv.DictReader(fh)}
    agg = rows["Aggregated"]

    def num(key: str) -> float:
        return float(agg[key]) if agg[key] not in ("", "N/A") else float("nan")  # N/A: no request finished

    return {
        "requests": int(agg["Request Count"]),
        "failures": int(agg["Failure Count"]),
        "rps": num("Requests/s"),
        "p50": num("50%"),
        "p95": num("95%"),
        "p99": num("99%"),
        "avg": num("Average Response Time"),
    }


def combine(slices: list[dict[str, Any]]) -> dict[str, Any]:
    """A scenario's row from its alternating slices (the module's docstring says how); the slices under "rounds"."""
    timed = [m for m in slices if m["requests"] and m["rps"] > 0]
    answered = sum(m["requests"] for m in timed)
    seconds = sum(m["requests"] / m["rps"] for m in timed)
    nan = float("nan")
    return {
        "requests": sum(m["requests"] for m in slices),
        "failures": sum(m["failures"] for m in slices),
        "rps": answered / seconds if seconds else nan,
        "p50": statistics.median(m["p50"] for m in timed) if timed else nan,
        "p95": max(m["p95"] for m in timed) if timed else nan,
        "p99": max(m["p99"] for m in timed) if timed else nan,
        "avg": sum(m["avg"] * m["requests"] for m in timed) / answered if timed else nan,
        "rounds": slices,
    }


def plan(chosen: list[Scenario]) -> list[tuple[Scenario, ...]]:
    """The runs in order: a scenario alone, or both of a pair together, where the first of the two was listed."""
    by_name = {s.name: s for s in chosen}
    partner: dict[str, str] = {}
    for measured, reference in PAIRS:
        if measured in by_name and reference in by_name:
            partner[measured], partner[reference] = reference, measured
    units: list[tuple[Scenario, ...]] = []
    placed: set[str] = set()
    for scenario in chosen:
        if scenario.name in placed:
            continue
        unit = (scenario, by_name[partner[scenario.name]]) if scenario.name in partner else (scenario,)
        units.append(unit)
        placed.update(s.name for s in unit)
    return units


# Runs one Locust slice: scenario, its host and key, seconds, the CSV prefix -> its summary.
RunSlice = Callable[[Scenario, str, str, int, Path], dict[str, Any]]


def run_unit(
    unit: tuple[Scenario, ...],
    hosts: dict[str, tuple[str, str]],
    *,
    duration: int,
    rounds: int,
    out: Path,
    run: RunSlice,
) -> dict[str, dict[str, Any]]:
    """A lone scenario for ``duration`` seconds, or a pair in ``rounds`` alternating slices.

    ``hosts`` gives each scenario's host and API key; ``run`` runs one Locust slice.
    """
    if len(unit) == 1:
        (scenario,) = unit
        host, key = hosts[scenario.name]
        return {scenario.name: run(scenario, host, key, duration, out / _slug(scenario.name))}
    seconds = max(1, round(duration / rounds))
    slices: dict[str, list[dict[str, Any]]] = {s.name: [] for s in unit}
    for i in range(rounds):
        for scenario in unit:
            host, key = hosts[scenario.name]
            slices[scenario.name].append(run(scenario, host, key, seconds, out / f"{_slug(scenario.name)}_r{i + 1}"))
    return {name: combine(rows) for name, rows in slices.items()}


def plot(results: dict[str, dict[str, Any]], out_dir: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_rps, ax_lat) = plt.subplots(2, 1, figsize=(14, 8), sharex=True)
    for ax in (ax_rps, ax_lat):
        ax.set_prop_cycle(color=[plt.get_cmap("tab20")(i) for i in range(20)])
    for name, row in results.items():
        if "rounds" in row:
            # A paired scenario: one point per slice (its req/s and p95), at the middle of its time in the run.
            timed = [m for m in row["rounds"] if m["requests"] and m["rps"] > 0]
            seconds = [m["requests"] / m["rps"] for m in timed]
            middles = [sum(seconds[:i]) + t / 2 for i, t in enumerate(seconds)]
            ax_rps.plot(middles, [m["rps"] for m in timed], "o--", label=f"{name} (slices)")
            ax_lat.plot(middles, [m["p95"] for m in timed], "o--", label=f"{name} (slices)")
            continue
        path = out_dir / f"{_slug(name)}_stats_history.csv"
        if not path.is_file():
            continue
        with path.open() as fh:
            rows = [r for r in csv.DictReader(fh) if r["Name"] == "Aggregated" and r["95%"] not in ("N/A", "")]
        if not rows:
            continue
        t0 = int(rows[0]["Timestamp"])
        ts = [int(r["Timestamp"]) - t0 for r in rows]
        ax_rps.plot(ts, [float(r["Requests/s"]) for r in rows], label=name)
        ax_lat.plot(ts, [float(r["95%"]) for r in rows], label=name)
    ax_rps.set_ylabel("requests/s")
    ax_lat.set_ylabel("p95 latency (ms)")
    ax_lat.set_yscale("log")
    ax_lat.set_xlabel("seconds into the run")
    ax_rps.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for ax in (ax_rps, ax_lat):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def _slug(name: str) -> str:
    return name.replace(" ", "_").replace("/", "-")


def _by_round(
    measured: dict[str, Any], reference: dict[str, Any], value: Callable[[dict[str, Any], dict[str, Any]], float]
) -> list[float]:
    """``value`` of each alternating round in which both scenarios answered; [] when they did not run as a pair."""
    a, b = measured.get("rounds"), reference.get("rounds")
    if not a or not b or len(a) != len(b):
        return []
    return [value(x, y) for x, y in zip(a, b, strict=True) if x["requests"] and y["requests"]]


def _listed(values: list[float], fmt: str) -> str:
    return ", ".join(format(v, fmt) for v in values)


def ratios(r: dict[str, dict[str, Any]]) -> list[str]:
    """The comparisons the project tracks, from whichever scenarios ran (pairs: medians of their rounds)."""
    lines = []

    def have(*names: str) -> bool:
        return all(n in r and r[n]["requests"] for n in names)

    if have("facade embedded 1-step", "ceiling 1-step"):
        f, c = r["facade embedded 1-step"], r["ceiling 1-step"]
        rounds = _by_round(f, c, lambda x, y: x["rps"] / y["rps"])
        ratio = statistics.median(rounds) if rounds else f["rps"] / c["rps"]
        how = f", the median of {len(rounds)} alternating rounds: {_listed(rounds, '.2f')}" if rounds else ""
        lines.append(
            f"1-step /predict (embedded) vs HTTP ceiling: {ratio:.2f}x req/s{how} "
            f"({f['rps']:.0f} vs {c['rps']:.0f}); p99 {f['p99']:.0f} ms; failures {f['failures']}"
        )
    for mode in ("loop", "graph"):
        name = f"facade embedded 10-step {mode}"
        if have(name, "baseline 10-step"):
            f, b = r[name], r["baseline 10-step"]
            lines.append(
                f"10-step ({mode}, embedded) vs baseline: {f['rps'] / b['rps']:.0f}x req/s, "
                f"{b['p50'] / max(f['p50'], 1):.0f}x lower p50 ({f['p50']:.0f} vs {b['p50']:.0f} ms)"
            )
    for facade_name, grpc_name in PAIRS[1:]:
        if have(facade_name, grpc_name):
            f, g = r[facade_name], r[grpc_name]
            rounds = _by_round(f, g, lambda x, y: x["avg"] - y["avg"])
            mean = statistics.median(rounds) if rounds else f["avg"] - g["avg"]
            how = f", the median of {len(rounds)} alternating rounds: {_listed(rounds, '+.2f')}" if rounds else ""
            lines.append(
                f"facade overhead (1 user), {facade_name.removeprefix('1 user: facade tfserving ')}: "
                f"p50 {f['p50']:.0f} - {g['p50']:.0f} = {f['p50'] - g['p50']:+.0f} ms; "
                f"mean {f['avg']:.2f} - {g['avg']:.2f} ms; overhead {mean:+.2f} ms{how}"
            )
    for backend in ("embedded", "tfserving"):
        loop, graph = f"facade {backend} 10-step loop", f"facade {backend} 10-step graph"
        if have(loop, graph):
            lines.append(
                f"10-step {backend}: loop {r[loop]['rps']:.0f} req/s p50 {r[loop]['p50']:.0f} ms; "
                f"graph {r[graph]['rps']:.0f} req/s p50 {r[graph]['p50']:.0f} ms"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--tfserving", help="a real TF Serving gRPC address instead of the local server")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "loadtest" / time.strftime("%Y%m%d-%H%M%S"))
    parser.add_argument("--scenarios", nargs="*", default=[s.name for s in SCENARIOS], help="names to run")
    parser.add_argument("--rounds", type=int, default=4, help="alternating slices of each pair of scenarios")
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if s.name in args.scenarios]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    unknown = set(args.scenarios) - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios: {sorted(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    models_dir = args.models_dir.resolve()
    results: dict[str, dict[str, Any]] = {}

    def run(scenario: Scenario, host: str, key: str, seconds: int, prefix: Path) -> dict[str, Any]:
        users = scenario.users or args.users
        return run_locust(scenario, host, key=key, users=users, duration=seconds, prefix=prefix, models_dir=models_dir)

    with contextlib.ExitStack() as stack:
        grpc_address = args.tfserving or ""
        if not grpc_address and any("tfserving" in s.target or s.target == "grpc" for s in chosen):
            port = procs.free_port()
            stack.enter_context(procs.grpc_server(models_dir, port, log=args.out / "grpc_server.log"))
            procs.wait_port(port)
            grpc_address = f"127.0.0.1:{port}"
        for unit in plan(chosen):
            with contextlib.ExitStack() as servers:
                hosts: dict[str, tuple[str, str]] = {}
                for scenario in unit:
                    host = servers.enter_context(
                        serve(scenario.target, models_dir=models_dir, grpc_address=grpc_address, work=args.out)
                    )
                    hosts[scenario.name] = (host, "" if scenario.target == "grpc" else _mint(host, scenario.target))
                names = " and ".join(repr(s.name) for s in unit)
                how = f"in {args.rounds} alternating slices, {args.duration}s each" if len(unit) > 1 else ""
                print(f"running {names} {how or f'for {args.duration}s'} ...", flush=True)
                results.update(run_unit(unit, hosts, duration=args.duration, rounds=args.rounds, out=args.out, run=run))
    print(f"\n{args.users} users, {args.duration}s per scenario, results in {args.out}\n")
    print(
        f"| {'scenario':<36} | {'req/s':>7} | {'p50 ms':>6} | {'p95 ms':>6} | {'p99 ms':>6} | {'requests':>8} | fail |"
    )
    print(f"|{'-' * 38}|{'-' * 9}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 10}|------|")
    for name, m in results.items():
        print(
            f"| {name:<36} | {m['rps']:>7.1f} | {m['p50']:>6.0f} | {m['p95']:>6.0f} | {m['p99']:>6.0f} "
            f"| {m['requests']:>8} | {m['failures']:>4} |"
        )
    print()
    for line in ratios(results):
        print(line)
    (args.out / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, args.out, args.out / "latency.png")
    print(f"\nplot: {args.out / 'latency.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
