"""The facade's overhead at one user, measured in alternating rounds: through the facade, then straight to gRPC.

    python -m loadtest.overhead [--steps 1] [--rounds 20] [--calls 200] [--compare CHECKOUT]

Starts the local TF Serving-API server (``python -m modelserver``) and one
facade on its tfserving backend (every feature on, as in the benchmark
runner), both on 127.0.0.1. Then, ``--rounds`` times, it makes ``--calls``
sequential calls of each kind, one after the other:

- ``/predict`` over HTTP (one keep-alive connection), ``--steps`` days;
- the same model call with the official ``tensorflow-serving-api`` client:
  ``serving_default`` on the scaled window for one step, else one
  ``forecast`` call (the facade's ``graph`` mode).

The runner's "1 user" pairs measure each side for 20 s, one after the other,
and this machine's speed drifts between them by about as much as the
overhead. Here every round measures both sides within a second, so the drift
hits both alike; the median of the rounds' differences is the overhead.

After the rounds it prints the CPU that each kind of call cost, per call, by
process and thread (``/proc`` counters, so Linux only): the client's calling
thread, each facade's threads, and the gRPC server's threads, whose cost
depends on which client called.

``--compare CHECKOUT`` starts a second facade from another checkout of this
project (``git worktree add /tmp/before <commit>``), with the same settings
and the same gRPC server, and adds it to every round: two versions of the
facade measured against each other in the same minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from common.contract import DEFAULT_SIGNATURE, FORECAST_SIGNATURE, PRICES_INPUT, STEPS_INPUT, WINDOW_INPUT
from common.metadata import ScalerParams
from loadtest import procs
from loadtest.payloads import EXTRA_HISTORY, closes, newest_metadata

MODEL = "aapl"


def _facade_env(grpc_port: int, facade_port: int, work: Path) -> dict[str, str]:
    return {
        "FACADE_BACKEND": "tfserving",
        "FACADE_TFSERVING_ADDRESS": f"127.0.0.1:{grpc_port}",
        "FACADE_KEYS_URL": f"sqlite:///{(work / f'keys-{facade_port}.db').resolve()}",
        "FACADE_FORECAST_MODE": "graph",
    }


def _facade_call(port: int, key: str, body: bytes, *, stack: contextlib.ExitStack) -> Callable[[], None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    stack.callback(conn.close)
    headers = {"x-api-key": key, "content-type": "application/json"}

    def call() -> None:
        conn.request("POST", "/predict", body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"the facade answered {reply.status}: {data[:200]!r}")

    return call


def _grpc_call(
    target: str, prices: list[float], *, steps: int, scaler: ScalerParams, stack: contextlib.ExitStack
) -> Callable[[], None]:
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    channel = stack.enter_context(grpc.insecure_channel(target))
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    window = np.asarray(prices, dtype=np.float64)
    if steps == 1:  # what the facade sends for one step: the window, scaled
        request.model_spec.signature_name = DEFAULT_SIGNATURE
        scaled = scaler.transform(window).astype(np.float32).reshape(1, -1, 1)
        request.inputs[WINDOW_INPUT].CopyFrom(tf.make_tensor_proto(scaled))
    else:
        request.model_spec.signature_name = FORECAST_SIGNATURE
        request.inputs[PRICES_INPUT].CopyFrom(tf.make_tensor_proto(window.astype(np.float32).reshape(1, -1)))
        request.inputs[STEPS_INPUT].CopyFrom(tf.make_tensor_proto(np.array([steps], dtype=np.int32)))

    def call() -> None:
        stub.Predict(request, timeout=30)

    return call


# Per side: per process ("client", "facade", "compared", "server"), per thread name: CPU seconds.
Cpu = dict[str, dict[str, dict[str, float]]]


def _timed_block(call: Callable[[], None], calls: int, pids: dict[str, int], cpu: dict[str, dict[str, float]]) -> float:
    """``_mean_ms`` of ``calls`` calls, adding the CPU they cost each watched process's threads into ``cpu``."""
    before = {name: procs.thread_cpu(pid) for name, pid in pids.items()}
    own = time.thread_time()
    ms = _mean_ms(call, calls)
    spent = {"client": {"calling thread": time.thread_time() - own}}
    for name, pid in pids.items():
        after = procs.thread_cpu(pid)
        spent[name] = {thread: t - before[name].get(thread, 0.0) for thread, t in after.items()}
    for name, threads in spent.items():
        into = cpu.setdefault(name, {})
        for thread, seconds in threads.items():
            into[thread] = into.get(thread, 0.0) + seconds
    return ms


def _cpu_lines(cpu: Cpu, calls: int) -> list[str]:
    """``cpu`` per call, each side having made ``calls`` calls."""
    lines = ["CPU per call over all rounds, by process and thread (us; /proc's 10 ms ticks, summed):"]
    for side, by_process in cpu.items():
        parts = []
        for process, threads in by_process.items():
            per_call = [(t, s / calls * 1e6) for t, s in sorted(threads.items(), key=lambda kv: -kv[1])]
            shown = [f"{t} {us:.0f}" for t, us in per_call if us >= 1]
            if shown:
                parts.append(f"{process}: {', '.join(shown)}")
        lines.append(f"  {side} calls: " + "; ".join(parts))
    return lines


def _mean_ms(call: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.overhead", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200, help="calls of each kind per round")
    parser.add_argument("--work", type=Path, default=Path("var") / "overhead", help="logs and the key database")
    parser.add_argument("--compare", type=Path, help="another checkout of this project: its facade joins every round")
    args = parser.parse_args(argv)
    meta = newest_metadata(MODEL, args.models_dir)
    if meta is None:
        parser.error(f"no version of {MODEL} under {args.models_dir}: run `make run` or `python -m export publish`")
    args.work.mkdir(parents=True, exist_ok=True)
    history = closes(meta.window + EXTRA_HISTORY)
    body = json.dumps({"prices": history, "steps": args.steps}).encode()
    if args.compare is not None and not (args.compare / "facade" / "__main__.py").is_file():
        parser.error(f"--compare {args.compare}: not a checkout of this project (no facade/__main__.py)")
    grpc_port = procs.free_port()
    trees = {"facade": None} if args.compare is None else {"facade": None, "compared": args.compare.resolve()}
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(procs.grpc_server(args.models_dir, grpc_port, log=args.work / "grpc_server.log"))
        procs.wait_port(grpc_port)
        pids = {"server": server.pid}
        sides: dict[str, Callable[[], None]] = {}
        for name, tree in trees.items():
            port = procs.free_port()
            env = _facade_env(grpc_port, port, args.work)
            if tree is not None:  # `python -m facade` run from that checkout imports its own packages
                env["PYTHONPATH"] = str(tree)
            pids[name] = stack.enter_context(procs.facade(port, env=env, log=args.work / f"{name}.log", cwd=tree)).pid
            base = f"http://127.0.0.1:{port}"
            procs.wait_http(f"{base}/ready")
            sides[name] = _facade_call(port, procs.mint_key(base), body, stack=stack)
        sides["grpc"] = _grpc_call(
            f"127.0.0.1:{grpc_port}", history[-meta.window :], steps=args.steps, scaler=meta.scaler, stack=stack
        )
        for call in sides.values():  # connections, caches, the server's first calls
            _mean_ms(call, 50)
        print(f"{args.steps}-step calls, one user, {args.rounds} rounds of {args.calls} calls of each kind")
        rounds: dict[str, list[float]] = {name: [] for name in sides}
        cpu: Cpu = {name: {} for name in sides}
        for i in range(args.rounds):
            for name, call in sides.items():
                rounds[name].append(_timed_block(call, args.calls, pids, cpu[name]))
            facade, direct = rounds["facade"][-1], rounds["grpc"][-1]
            line = f"round {i + 1:2}: facade {facade:.3f} ms, official gRPC client {direct:.3f} ms"
            line += f": {facade - direct:+.3f}"
            if "compared" in rounds:
                line += f"; compared facade {rounds['compared'][-1]:.3f} ms: {rounds['compared'][-1] - direct:+.3f}"
            print(line)
    differences = [f - g for f, g in zip(rounds["facade"], rounds["grpc"], strict=True)]
    facade, direct = statistics.median(rounds["facade"]), statistics.median(rounds["grpc"])
    print(
        f"median: facade {facade:.3f} ms, gRPC {direct:.3f} ms; "
        f"overhead (median of the rounds' differences) {statistics.median(differences):+.3f} ms"
    )
    if "compared" in rounds:
        compared = [c - g for c, g in zip(rounds["compared"], rounds["grpc"], strict=True)]
        against = [f - c for f, c in zip(rounds["facade"], rounds["compared"], strict=True)]
        print(
            f"compared facade ({args.compare}): overhead {statistics.median(compared):+.3f} ms; "
            f"this facade minus it {statistics.median(against):+.3f} ms (medians of the rounds)"
        )
    for line in _cpu_lines(cpu, args.rounds * args.calls):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
