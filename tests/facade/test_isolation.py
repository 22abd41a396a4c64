"""One client sending poisoned rows cannot fail anyone else's requests, on either backend.

Eight normal clients and one poisoning client on a real uvicorn facade
(``loadtest/reliability/poison.py``; ``python -m loadtest.reliability poison``
prints the same run at full size). The poison goes both through HTTP (the
facade's row checks must refuse it with a 4xx) and straight into the backend
below those checks (on the embedded backend it shares micro-batches with the
normal rows), where the ``forecast`` signature must mask it and mark it invalid.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.reliability import poison

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["embedded", "tfserving"])
def test_poisoned_rows_fail_no_normal_request(
    backend: str, models_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = request.getfixturevalue("grpc_target") if backend == "tfserving" else None
    report = poison.run(models_dir=models_dir, workdir=tmp_path, grpc_target=target, clients=8, duration_s=4)
    print("\n".join(report.lines()))
    assert sum(report.normal.values()) > 100, report.normal
    assert report.normal_failed == 0, report.normal_errors
    # Every poisoned request over HTTP got a 4xx from the facade's own checks, never a 5xx.
    assert sum(report.http_poison.values()) > 10 and all(k.isdigit() for k in report.http_poison), report.http_poison
    # The rows below the checks reached the backend, which marked each one invalid without failing its batch.
    assert sum(report.row_poison.values()) > 10
    assert set(report.row_poison) == {"answered, marked invalid"}, report.row_poison
    assert report.batches_retried == 0
