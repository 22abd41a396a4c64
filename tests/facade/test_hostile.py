"""The hostile-input catalogue against a real uvicorn facade: each class gets its documented 4xx.

Headers, sizes and slow clients, keys, the admin token, methods, content
types, JSON bodies and CSV uploads, sent over raw sockets so nothing in
between tidies them up (the catalogue is ``loadtest/reliability/catalogue_*.py``;
``python -m loadtest.reliability hostile`` prints the same run as a table).
After every class the service must still be ready.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.reliability import hostile
from loadtest.reliability.catalogue import SETTINGS, Target
from loadtest.reliability.stack import Client, Live, facade
from tests.facade.conftest import ADMIN

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(grpc_target: str, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workdir = tmp_path_factory.mktemp("hostile")
    with facade(workdir, models_dir=models_dir, grpc_target=grpc_target, admin_token=ADMIN, **SETTINGS) as server:
        yield server


@pytest.fixture(scope="module")
def target(live: Live) -> Target:
    return hostile.prepare(live)


@pytest.mark.parametrize("case", hostile.CASES, ids=lambda c: f"{c.category}: {c.name}")
def test_hostile_class_gets_its_4xx_and_the_service_stays_ready(target: Target, case: hostile.Case) -> None:
    result = hostile.check(case, target)
    assert result.ok, (case.name, result.status, result.problems)


def test_the_catalogue_is_broad_enough() -> None:
    assert len(hostile.CASES) >= 60
    assert len({c.name for c in hostile.CASES}) == len(hostile.CASES)
    per_category = Counter(c.category for c in hostile.CASES)
    assert set(per_category) == set(hostile.CATEGORIES)
    assert per_category["json"] >= 20 and per_category["csv"] >= 20
    assert all(per_category[c] >= 5 for c in ("headers", "keys", "methods"))


def test_a_good_request_still_works_after_the_catalogue(live: Live, target: Target) -> None:
    with Client(live.port) as client:
        status, body = client.predict(target.good_key, {"prices": target.history, "steps": 2})
    assert status == 200, body
    assert len(body["forecast"]) == 2
