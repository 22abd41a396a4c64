"""What one model call costs the embedded runtime, by batch size: wall time, the calling thread's CPU, all CPU.

    python -m loadtest.modelcall [--signature serving_default] [--batches 1 4 8 16 32] [--calls 300] [--call flat]

Loads the newest version of ``--model`` from ``models/`` with the embedded
runtime (:mod:`modelserver.repository`, TensorFlow's pools sized as the
facade sizes them) and calls a signature on windows of real AAPL closes,
``--calls`` times per batch size after a warm-up. Printed per call: wall
time, the CPU of the calling thread (the facade's batcher thread: Python and
whatever TensorFlow runs inline), and the CPU of the whole process (with
TensorFlow's pool threads), then that per row. Under the facade's 1-step
load (32 users) batches hold about 11 rows (``docs/benchmarks.md``).
First it counts the signature's graph nodes (the functions it calls
included): TensorFlow's executor dispatches each of them on every call,
whatever the batch size. ``--call public`` calls the signature the public
way (``ConcreteFunction.__call__``) instead of the runtime's flat call
(:class:`modelserver.repository.SignatureCaller`), to compare the two.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from common.contract import DEFAULT_SIGNATURE
from loadtest.payloads import closes
from modelserver.repository import LoadedVersion, ModelRepository, SignatureCaller


def graph_nodes(function: Any) -> Counter[str]:
    """The op types of a signature function's graph and of every function it calls, counted node by node."""
    graph = function.graph.as_graph_def()
    library = {f.signature.name: f for f in graph.library.function}
    counts: Counter[str] = Counter()
    stack, seen = [list(graph.node)], set()
    while stack:
        for node in stack.pop():
            counts[node.op] += 1
            called = node.attr["f"].func.name if "f" in node.attr else ""
            if called in library and called not in seen:
                seen.add(called)
                stack.append(list(library[called].node_def))
    return counts


def measure(
    version: LoadedVersion, signature: str, batch: int, calls: int, *, flat: bool = True
) -> tuple[float, float, float]:
    """Mean (wall, calling thread's CPU, process CPU) per call, in microseconds."""
    call = SignatureCaller(signature, version.loaded.signatures[signature], flat=flat)
    specs = version.input_specs(signature)
    (name, spec), *rest = specs.items()
    if rest:
        raise ValueError(f"signature {signature!r} takes {len(specs)} inputs; this measures one-input signatures")
    length = int(spec.shape[1])
    scaled = np.asarray(closes(length), dtype=np.float64)
    scaled = (scaled - scaled.min()) / (scaled.max() - scaled.min())
    rows = np.repeat(scaled.astype(np.float32).reshape(1, length, 1), batch, axis=0)
    for _ in range(20):
        call({name: rows})
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    for _ in range(calls):
        call({name: rows})
    wall, thread, process = (time.perf_counter() - wall, time.thread_time() - thread, time.process_time() - process)
    return 1e6 * wall / calls, 1e6 * thread / calls, 1e6 * process / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.modelcall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--model", default="aapl")
    parser.add_argument("--signature", default=DEFAULT_SIGNATURE)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--inter-op", type=int, default=1, help="TensorFlow's inter-op threads (the facade's default)")
    parser.add_argument("--intra-op", type=int, default=0, help="TensorFlow's intra-op threads (0: one per core)")
    parser.add_argument(
        "--call", choices=("flat", "public"), default="flat", help="the runtime's flat call, or ConcreteFunction's own"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from common.tf_runtime import import_tensorflow

    tf = import_tensorflow()
    threading = tf.config.threading
    try:
        threading.set_inter_op_parallelism_threads(args.inter_op)
        threading.set_intra_op_parallelism_threads(args.intra_op)
    except RuntimeError:  # this process ran TensorFlow before (tests): its pools stay as they are
        pass
    pools = f"TensorFlow's pools: {threading.get_inter_op_parallelism_threads()} inter-op, "
    pools += f"{threading.get_intra_op_parallelism_threads()} intra-op threads (0: one per core)"
    repo = ModelRepository(args.models_dir, keep=1)
    repo.refresh()
    version = repo.get(args.model, max(repo.versions(args.model)))
    print(
        f"{args.model} version {version.version}, {args.signature}, {args.call} call, "
        f"{args.calls} calls per batch size; {pools}"
    )
    nodes = graph_nodes(version.loaded.signatures[args.signature])
    common = ", ".join(f"{n} {op}" for op, n in nodes.most_common(6))
    print(f"{sum(nodes.values())} graph nodes, each run by TensorFlow's executor: {common}, ...")
    print("batch | wall us/call | calling thread CPU us/call | process CPU us/call | process CPU us/row")
    for batch in args.batches:
        wall, thread, process = measure(version, args.signature, batch, args.calls, flat=args.call == "flat")
        print(f"{batch:5} | {wall:12.0f} | {thread:26.0f} | {process:19.0f} | {process / batch:18.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
