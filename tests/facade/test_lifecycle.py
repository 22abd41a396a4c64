"""Stopping and starting a real facade: SIGTERM drains, a half-sent body cannot hold it, SIGKILL loses no key, no
secret reaches the logs (``loadtest/reliability/shutdown.py`` and ``leaks.py``; docs/reliability.md has full runs)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from facade.logging_setup import JsonFormatter, TextFormatter, redact
from loadtest.reliability import leaks, shutdown


@pytest.mark.slow
def test_sigterm_drains_requests_in_flight(models_dir: Path, tmp_path: Path) -> None:
    report = shutdown.drain(models_dir, tmp_path, in_flight=6, hold_ms=1500)
    assert report.statuses == [200] * 6
    assert report.refused_new_connection  # the listening socket closed at the signal
    assert report.exit_code in (0, -15)  # uvicorn re-raises the SIGTERM it handled, after the drain
    assert "Finished server process" in _log_of(tmp_path)


@pytest.mark.slow
def test_a_half_sent_body_cannot_hold_off_sigterm(grpc_target: str, models_dir: Path, tmp_path: Path) -> None:
    report = shutdown.half_body(models_dir, tmp_path, grpc_target=grpc_target, graceful_s=2)
    assert report.exit_s < 2 + 3  # the graceful bound, not the 120 s body timeout
    assert "timeout graceful shutdown exceeded" in _log_of(tmp_path)


@pytest.mark.slow
def test_sigkill_during_minting_loses_no_acknowledged_key(grpc_target: str, models_dir: Path, tmp_path: Path) -> None:
    report = shutdown.sigkill_minting(models_dir, tmp_path, grpc_target=grpc_target, kills=2, run_s=1.0)
    assert report.kills == 2 and report.acknowledged > 10
    assert report.lost == []


@pytest.mark.slow
def test_no_secret_reaches_the_logs(grpc_target: str, models_dir: Path, tmp_path: Path) -> None:
    report = leaks.run(models_dir, tmp_path, grpc_target=grpc_target)
    assert report.secrets >= 6 and report.requests > 30 and report.log_lines > 30
    assert report.found == []


def _log_of(workdir: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(workdir.glob("facade-*.log")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'ticker: "sc_0123456789ab_AbCd-Ef_gh" is not a ticker',
            'ticker: "sc_0123456789ab_[redacted]" is not a ticker',
        ),
        ("key sc_0123456789ab revoked", "key sc_0123456789ab revoked"),  # an id alone is public
        ("no key here", "no key here"),
    ],
)
def test_key_shaped_text_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_both_formatters_redact() -> None:
    record = logging.makeLogRecord({"msg": "got %s", "args": ("sc_abc_secretsecret",), "levelname": "INFO"})
    assert "secretsecret" not in JsonFormatter().format(record)
    assert "secretsecret" not in TextFormatter("%(message)s").format(record)
