"""The reliability command line and the arithmetic of its reports (the checks themselves run in tests/facade/)."""

from __future__ import annotations

from collections import Counter

import pytest

from loadtest.reliability.__main__ import CHECKS, main
from loadtest.reliability.hostile import CASES, CATEGORIES
from loadtest.reliability.poison import PoisonReport
from loadtest.reliability.soak import SoakReport


def test_every_check_has_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(check in out for check in CHECKS)


def test_soak_growth_is_measured_from_the_end_of_the_warmup() -> None:
    report = SoakReport("tfserving", 4, 600, samples=[(0, 50.0), (30, 80.0), (60, 100.0), (600, 105.0)])
    assert report.baseline_mb == 100.0 and report.final_mb == 105.0
    assert report.growth == pytest.approx(0.05)
    assert "growth +5.0%" in report.lines()[-1]


def test_a_failed_normal_request_counts_as_failed() -> None:
    report = PoisonReport("embedded", 16, 10, normal=Counter({200: 990, 502: 10}))
    assert report.normal_failed == 10
    assert "1000 normal requests (100/s), 10 failed" in report.lines()[0]


def test_each_catalogue_class_names_a_4xx_and_a_known_category() -> None:
    assert all(400 <= c.status < 500 and c.category in CATEGORIES and c.message for c in CASES)
