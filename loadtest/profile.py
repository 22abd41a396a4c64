"""Where a facade's CPU goes under load: py-spy samples a facade while Locust drives it.

    python -m loadtest.profile [--backend embedded] [--tag predict1] [--users 32] [--seconds 20]

Starts the facade (and, for the tfserving backend, the local gRPC server) on
127.0.0.1 with every feature on (rate limits, strict validation, metrics,
drift, intervals), runs Locust headless against it, and samples the facade
with py-spy (``--nonblocking``, so the process is not paused). It prints the
share of samples per cost bucket (HTTP server, middleware, validation,
keys, rate limits, metrics, the forecast itself, TensorFlow, ...), then the
top functions by their own time, and renders a flame graph PNG of the
collapsed stacks. The shares are of the facade's on-CPU samples.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from loadtest import procs
from loadtest.flamegraph import render_flamegraph

ROOT = Path(__file__).resolve().parent.parent

# (bucket, substrings of a frame, file or function) in priority order: a sample goes to the innermost frame
# that matches one, so "TensorFlow" wins over "forecast" for a sample inside a model call.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("TensorFlow (model call)", ("tensorflow/", "keras/")),
    ("numpy", ("numpy/",)),
    ("JSON / pydantic (parse, validate, serialise)", ("pydantic", "json/", "fastapi/encoders", "_compat", "orjson")),
    ("API key verification", ("facade/keystore",)),
    ("rate limits", ("facade/ratelimit", "limits/")),
    ("Prometheus metrics and drift", ("prometheus_client", "facade/metrics", "facade/drift")),
    ("logging", ("logging/", "facade/logging_setup")),
    ("micro-batcher hand-off", ("facade/backends/batching", "threading.py", "queue.py")),
    ("gRPC client", ("grpc/", "facade/backends/tfs_client", "facade/protos")),
    ("forecast use case and backends", ("facade/service", "facade/backends", "facade/forecasting", "common/")),
    ("routes and dependencies", ("facade/routes", "facade/deps", "fastapi/dependencies", "fastapi/routing")),
    ("middleware (facade, starlette, fastapi)", ("facade/middleware", "starlette/", "fastapi/")),
    ("HTTP server (uvicorn, httptools)", ("uvicorn/", "httptools", "h11")),
    ("asyncio event loop", ("asyncio/", "uvloop")),
]


def bucket_of(frames: list[str]) -> str:
    """The bucket of a sample: the innermost frame that names one."""
    for frame in reversed(frames):
        for name, marks in BUCKETS:
            if any(mark in frame for mark in marks):
                return name
    return "other"


def read_collapsed(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw output: ``frame;frame;... count`` per line."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def on_cpu(stacks: Counter[tuple[str, ...]]) -> Counter[tuple[str, ...]]:
    """Drops the samples of threads waiting (py-spy --idle is off, but pollers sleep in waits that spin)."""
    waiting = ("Event.wait", "Condition.wait", "SimpleQueue.get", "select (", "epoll", "_run_once (asyncio")
    return Counter({s: n for s, n in stacks.items() if not any(w in s[-1] for w in waiting)})


def report(stacks: Counter[tuple[str, ...]], *, top: int = 25) -> str:
    total = sum(stacks.values()) or 1
    buckets: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, n in stacks.items():
        buckets[bucket_of(list(frames))] += n
        own[frames[-1]] += n
    lines = [f"{total} on-CPU samples of the facade", "", "| cost | share |", "|---|---|"]
    lines += [f"| {name} | {n / total:.1%} |" for name, n in buckets.most_common()]
    lines += ["", f"top {top} functions by own time:"]
    lines += [f"  {n / total:6.1%}  {frame[:140]}" for frame, n in own.most_common(top)]
    return "\n".join(lines)


@contextlib.contextmanager
def facade_under_test(backend: str, models_dir: Path, work: Path) -> Iterator[tuple[str, int]]:
    with contextlib.ExitStack() as stack:
        env = {
            "FACADE_BACKEND": backend,
            "FACADE_MODELS_DIR": str(models_dir),
            "FACADE_KEYS_URL": f"sqlite:///{work / 'keys.sqlite3'}",
            "FACADE_LOG_LEVEL": "WARNING",
        }
        if backend == "tfserving":
            grpc_port = procs.free_port()
            stack.enter_context(procs.grpc_server(models_dir, grpc_port, log=work / "grpc_server.log"))
            procs.wait_port(grpc_port)
            env |= {"FACADE_TFSERVING_ADDRESS": f"127.0.0.1:{grpc_port}", "FACADE_MODELS": "aapl"}
        port = procs.free_port()
        proc = stack.enter_context(procs.facade(port, env=env, log=work / "facade.log"))
        base = f"http://127.0.0.1:{port}"
        procs.wait_http(f"{base}/ready")
        yield base, proc.pid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("embedded", "tfserving"), default="embedded")
    parser.add_argument("--tag", default="predict1", help="the Locust task: predict1, predict10, csv")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "profile" / time.strftime("%Y%m%d-%H%M%S"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / "facade.collapsed"
    with facade_under_test(args.backend, args.models_dir.resolve(), args.out) as (base, pid):
        key = procs.mint_key(base)
        spy = subprocess.Popen(  # noqa: S603 - py-spy from this venv, our own arguments
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--duration",
             str(args.seconds), "--rate", "250", "--format", "raw", "--output", str(raw), "--nonblocking",
             "--threads"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        locust = [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless",
                  "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s", "--host", base,
                  "--tags", args.tag, "--only-summary", "--loglevel", "WARNING", "FacadeUser"]  # fmt: skip
        with (args.out / "locust.log").open("w") as log:
            env = {**os.environ, "LOADTEST_API_KEY": key}
            subprocess.run(locust, env=env, stdout=log, stderr=log, check=False)  # noqa: S603
        spy.wait(timeout=args.seconds + 60)
    stacks = on_cpu(read_collapsed(raw))
    text = report(stacks)
    (args.out / "report.md").write_text(text + "\n")
    render_flamegraph(
        stacks, args.out / "flamegraph.png", title=f"facade ({args.backend}, {args.tag}, {args.users} users)"
    )
    print(text)
    print(f"\nflame graph: {args.out / 'flamegraph.png'}; stacks: {raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
