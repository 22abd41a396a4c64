"""Runs the hostile-input catalogue against a real facade and prints what each class got.

    python -m loadtest.reliability hostile [--models-dir models]

Every class must get its documented 4xx with a clear message (an ``ErrorBody``
when the answer is JSON, ``Allow`` on a 405), and the facade must still be
ready after each one.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from loadtest.reliability import catalogue_content, catalogue_http
from loadtest.reliability.catalogue import SETTINGS, Case, Target
from loadtest.reliability.rawhttp import exchange, request
from loadtest.reliability.stack import Live, facade, grpc_server, history, mint_key

CASES: list[Case] = [*catalogue_http.CASES, *catalogue_content.JSON_CASES, *catalogue_content.CSV_CASES]
CATEGORIES = ("headers", "body", "keys", "admin", "methods", "content-type", "json", "csv")
ERROR_FIELDS = {"error", "detail", "request_id"}


@dataclass
class Result:
    case: Case
    status: int
    detail: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def prepare(live: Live) -> Target:
    """Mints a good key and a revoked one; the history is long enough for every served window."""
    good, revoked = mint_key(live, "catalogue"), mint_key(live, "catalogue-revoked")
    revoke = request("DELETE", f"/api_keys/{revoked.split('_')[1]}", headers={"x-admin-token": live.admin_token})
    if exchange(live.port, revoke).status != 200:
        raise RuntimeError("could not revoke the catalogue's second key")
    with urllib.request.urlopen(f"{live.base}/models", timeout=10) as r:  # noqa: S310 - loopback URL built here
        listing = json.load(r)["models"]
    window = max(v["window"] for versions in listing.values() for v in versions)
    return Target(live.port, live.admin_token, good, revoked, history(window + 5))


def check(case: Case, target: Target) -> Result:
    """Sends one class and judges the answer and the readiness after it."""
    reply = case.send(target)
    problems = []
    if reply.status != case.status:
        problems.append(f"status {reply.status}, expected {case.status}")
    if not 400 <= reply.status < 500:
        problems.append("not a 4xx")
    detail = reply.text
    if reply.headers.get("content-type") == "application/json":
        body = reply.json()
        detail = str(body.get("detail", ""))
        if set(body) != ERROR_FIELDS:
            problems.append(f"body fields {sorted(body)}, not an ErrorBody")
    if case.message not in detail:
        problems.append(f"message lacks {case.message!r}: {detail[:200]!r}")
    if reply.status == 405 and not reply.headers.get("allow"):
        problems.append("405 without Allow")
    ready = exchange(target.port, request("GET", "/ready"))
    if ready.status != 200:
        problems.append(f"not ready afterwards: {ready.status} {ready.text[:100]}")
    return Result(case, reply.status, detail, problems)


def run(live: Live) -> list[Result]:
    target = prepare(live)
    return [check(case, target) for case in CASES]


def report(results: list[Result]) -> str:
    lines = [f"{'category':<13} {'class':<40} {'got':>4} {'ok':<3} detail", "-" * 118]
    for r in results:
        mark = "yes" if r.ok else "NO"
        detail = r.detail.replace("\n", " ")[:55] if r.ok else "; ".join(r.problems)
        lines.append(f"{r.case.category:<13} {r.case.name[:40]:<40} {r.status:>4} {mark:<3} {detail}")
    by_category = Counter(r.case.category for r in results)
    statuses = Counter(r.status for r in results)
    lines.append("-" * 118)
    lines.append(
        f"{len(results)} classes ({', '.join(f'{c} {by_category[c]}' for c in CATEGORIES)}); "
        f"{sum(r.ok for r in results)} got their documented 4xx and left the facade ready; "
        f"statuses: {', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))}"
    )
    return "\n".join(lines)


def main(models_dir: Path, workdir: Path) -> int:
    """Starts the local gRPC server and a facade with the catalogue's limits, runs every class, prints the table."""
    with (
        grpc_server(models_dir, workdir) as grpc_target,
        facade(workdir, models_dir=models_dir, grpc_target=grpc_target, **SETTINGS) as live,
    ):
        results = run(live)
    print(report(results))
    return 0 if all(r.ok for r in results) else 1
