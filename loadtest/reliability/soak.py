"""A bounded soak: fixed concurrency for a fixed time, the facade's RSS sampled throughout.

    python -m loadtest.reliability soak [--minutes 10] [--clients 4] [--backend tfserving]

Each client loops over a mix of what the facade sees in service: 1- and
10-day JSON forecasts, a CSV upload, a refused body (422) and a wrong key
(401). The facade's resident memory is sampled every ``sample_s``; growth is
measured from the end of the first minute (imports, warmup and the first
allocations done) to the end of the run.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from loadtest import procs
from loadtest.reliability.rawhttp import multipart
from loadtest.reliability.stack import Client, facade, history, mint_key


@dataclass
class SoakReport:
    backend: str
    clients: int
    duration_s: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, RSS MiB)
    statuses: Counter[int] = field(default_factory=Counter)
    warmup_s: float = 60.0

    @property
    def baseline_mb(self) -> float:
        return next(mb for t, mb in self.samples if t >= self.warmup_s)

    @property
    def final_mb(self) -> float:
        return self.samples[-1][1]

    @property
    def growth(self) -> float:
        return (self.final_mb - self.baseline_mb) / self.baseline_mb

    def lines(self) -> list[str]:
        per_minute = [f"{t / 60:>4.1f} min {mb:7.1f} MiB" for t, mb in self.samples if round(t) % 60 < 10]
        total = sum(self.statuses.values())
        return [
            f"{self.backend}: {self.clients} clients, {self.duration_s / 60:.0f} min, {total} requests "
            f"({total / self.duration_s:.0f}/s), statuses {dict(sorted(self.statuses.items()))}",
            *[f"  {line}" for line in per_minute],
            f"  RSS {self.baseline_mb:.1f} MiB after {self.warmup_s:.0f} s, {self.final_mb:.1f} MiB at the end "
            f"(peak {max(mb for _, mb in self.samples):.1f}): growth {self.growth * 100:+.1f}%",
        ]


def run(
    models_dir: Path,
    workdir: Path,
    *,
    grpc_target: str | None,
    clients: int = 4,
    duration_s: float = 600,
    sample_s: float = 10,
    warmup_s: float = 60,
) -> SoakReport:
    """Runs the soak on a fresh facade (tfserving backend when ``grpc_target`` is given, else embedded)."""
    report = SoakReport("tfserving" if grpc_target else "embedded", clients, duration_s, warmup_s=warmup_s)
    with facade(workdir, models_dir=models_dir, grpc_target=grpc_target, rate_limit_per_key="100000000/minute",
                rate_limit_auth_failures="100000000/minute", log_level="WARNING") as live:  # fmt: skip
        key = mint_key(live, "soak")
        prices = history(120)
        one, ten = json.dumps({"prices": prices}).encode(), json.dumps({"prices": prices, "steps": 10}).encode()
        bad = json.dumps({"prices": [*prices[:-1], -1.0]}).encode()
        rows = "".join(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{p}\n" for i, p in enumerate(prices))
        csv_body, csv_type = multipart([("file", "p.csv", ("Date,Close\n" + rows).encode())], {"steps": "5"})
        json_headers = {"x-api-key": key, "content-type": "application/json"}
        mix = [
            ("/predict", one, json_headers),
            ("/predict", ten, json_headers),
            ("/predict_csv", csv_body, {"x-api-key": key, "content-type": csv_type}),
            ("/predict", bad, json_headers),
            ("/predict", one, {"x-api-key": key[:-3] + "AAA", "content-type": "application/json"}),
        ]
        stop = threading.Event()
        lock = threading.Lock()

        def client_loop() -> None:
            with Client(live.port) as client:
                i = 0
                while not stop.is_set():
                    path, body, headers = mix[i % len(mix)]
                    status = client.call("POST", path, body=body, headers=headers)[0]
                    with lock:
                        report.statuses[status] += 1
                    i += 1

        workers = [threading.Thread(target=client_loop) for _ in range(clients)]
        start = time.monotonic()
        for w in workers:
            w.start()
        try:
            while (elapsed := time.monotonic() - start) < duration_s:
                report.samples.append((elapsed, procs.rss_mb(live.proc.pid)))
                time.sleep(min(sample_s, max(duration_s - elapsed, 0.01)))
            report.samples.append((time.monotonic() - start, procs.rss_mb(live.proc.pid)))
        finally:
            stop.set()
            for w in workers:
                w.join(60)
    return report
