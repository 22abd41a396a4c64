"""``python -m loadtest.reliability <check>``: each check starts what it needs on loopback and prints its figures.

Checks: hostile, poison, outage, roll, shutdown, leaks, soak (docs/reliability.md
shows their output). They need a models folder with at least one version of
``aapl`` (``make run``, or ``python -m training`` then ``python -m export publish``);
roll needs versions 1 and 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from loadtest.reliability import hostile, leaks, lifecycle, poison, shutdown, soak
from loadtest.reliability.stack import grpc_server

CHECKS = ("hostile", "poison", "outage", "roll", "shutdown", "leaks", "soak")


def _run(check: str, args: argparse.Namespace, models: Path, work: Path) -> int:
    if check == "hostile":
        return hostile.main(models, work)
    if check == "poison":
        return poison.main(models, work, clients=args.clients, duration_s=args.seconds, backends=args.backend)
    if check == "outage":
        down = lifecycle.outage(models, work)
        print("\n".join(down.lines()))
        return 0 if set(down.during) == {503} and down.retry_after == {"1"} else 1
    if check == "roll":
        rolls = [lifecycle.roll(models, work, backend=b, clients=args.clients) for b in args.backend]
        for r in rolls:
            print("\n".join(r.lines() + [f"  failed: {e}" for e in r.errors]))
        return 0 if all(set(r.statuses) == {200} for r in rolls) else 1
    if check == "shutdown":
        drained = shutdown.drain(models, work)
        with grpc_server(models, work) as target:
            half = shutdown.half_body(models, work, grpc_target=target)
            minted = shutdown.sigkill_minting(models, work, grpc_target=target)
        for lines in (drained.lines(), half.lines(), minted.lines(), [f"  lost: {k}" for k in minted.lost]):
            print("\n".join(lines))
        return 0 if set(drained.statuses) == {200} and not minted.lost and half.exit_s < half.graceful_s + 3 else 1
    if check == "leaks":
        with grpc_server(models, work) as target:
            found = leaks.run(models, work, grpc_target=target)
        print("\n".join(found.lines() + [f"  found: {f}" for f in found.found]))
        return 0 if not found.found else 1
    code = 0
    for backend in args.backend:
        if backend == "tfserving":
            with grpc_server(models, work) as target:
                report = soak.run(models, work, grpc_target=target, clients=args.clients, duration_s=args.minutes * 60)
        else:
            report = soak.run(models, work, grpc_target=None, clients=args.clients, duration_s=args.minutes * 60)
        print("\n".join(report.lines()), flush=True)
        code |= int(report.growth >= 0.10)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.reliability", description=__doc__.split("\n\n")[0])
    parser.add_argument("check", choices=CHECKS)
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--workdir", type=Path, help="where logs and copies go (default: a temporary folder)")
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients (poison 16, roll 8, soak 4)")
    parser.add_argument("--seconds", type=float, default=20, help="poison: how long the load runs")
    parser.add_argument("--minutes", type=float, default=10, help="soak: how long it runs")
    parser.add_argument(
        "--backend", action="append", choices=("embedded", "tfserving"), help="poison, roll, soak (default: both)"
    )
    args = parser.parse_args(argv)
    args.backend = args.backend or ["embedded", "tfserving"]
    args.clients = args.clients or {"poison": 16, "roll": 8}.get(args.check, 4)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    models = args.models_dir.resolve()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return _run(args.check, args, models, args.workdir.resolve())
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        return _run(args.check, args, models, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
