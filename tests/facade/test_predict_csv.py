"""CSV uploads through HTTP: encodings, line endings, date formats decided from the whole column, limits."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facade.app import create_app
from tests.conftest import SMALL
from tests.facade.conftest import expected_forecast, make_settings, mint

pytestmark = pytest.mark.slow
HISTORY = [150.0 + 0.3 * i + (i % 7) for i in range(SMALL.window + 5)]
# December 2024 onwards: month-first "12/11/2024" is December 11 (a US export), day-first it is November 12.
DAYS = [date(2024, 12, 1) + timedelta(days=i) for i in range(len(HISTORY))]


def _upload(client: TestClient, key: str, content: bytes, **fields: str) -> object:
    return client.post(
        "/predict_csv",
        headers={"x-api-key": key},
        files={"file": ("prices.csv", content, "text/csv")},
        data={"steps": "3", **fields},
    )


@pytest.fixture(scope="module")
def key(client: TestClient) -> str:
    return mint(client, "csv")


def _csv(dates: list[str], *, newline: str = "\n", sep: str = ",") -> str:
    return newline.join([f"Date{sep}Close", *(f"{d}{sep}{p}" for d, p in zip(dates, HISTORY, strict=True))]) + newline


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_encodings_and_line_endings(
    client: TestClient, key: str, models_dir: Path, encoding: str, newline: str
) -> None:
    text = _csv([d.isoformat() for d in DAYS], newline=newline)
    r = _upload(client, key, text.encode(encoding))
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    np.testing.assert_allclose(r.json()["forecast"], expected_forecast(models_dir, 2, HISTORY, 3), rtol=1e-4)  # type: ignore[attr-defined]


def test_a_us_export_is_read_month_first_from_the_whole_column(client: TestClient, key: str) -> None:
    # 12/13/2024 onwards can only be month-first, so the whole column is, 12/01..12/12 included.
    r = _upload(client, key, _csv([d.strftime("%m/%d/%Y") for d in DAYS]).encode())
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    assert r.json()["last_price"] == pytest.approx(HISTORY[-1])  # type: ignore[attr-defined]


def test_an_ambiguous_column_asks_for_date_format_and_takes_it(client: TestClient, key: str) -> None:
    # Two days only, both readings sorted: the column stays ambiguous.
    dates = ["12/11/2024", "12/12/2024"]
    body = ("Date,Close\n" + "".join(f"{d},{100 + i}\n" for i, d in enumerate(dates))).encode()
    r = _upload(client, key, body)
    assert r.status_code == 422  # type: ignore[attr-defined]
    detail = r.json()["detail"]  # type: ignore[attr-defined]
    assert "row 2: '12/11/2024'" in detail and "send date_format=dayfirst or date_format=monthfirst" in detail
    # Given the format, the same file parses (and is then too short for the model, which the 422 says).
    for fmt in ("monthfirst", "dayfirst", "%m/%d/%Y"):
        r = _upload(client, key, body, date_format=fmt)
        assert "too short a history" in r.json()["detail"], (fmt, r.text)  # type: ignore[attr-defined]


def test_date_errors_name_the_rows(client: TestClient, key: str) -> None:
    dates = [d.isoformat() for d in DAYS]
    dates[5], dates[9] = dates[9], dates[5]
    r = _upload(client, key, _csv(dates).encode())
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "row 8 (2024-12-07) after row 7 (2024-12-10)" in r.json()["detail"]  # type: ignore[attr-defined]
    r = _upload(client, key, _csv([d.isoformat() for d in DAYS]).encode(), date_format="%d.%m.%Y")
    assert "row 2: '2024-12-01' does not match date_format '%d.%m.%Y'" in r.json()["detail"]  # type: ignore[attr-defined]


def test_semicolons_and_decimal_commas(client: TestClient, key: str, models_dir: Path) -> None:
    text = "Data;Fechamento\n" + "".join(
        f"{d.strftime('%d/%m/%Y')};{str(p).replace('.', ',')}\n" for d, p in zip(DAYS, HISTORY, strict=True)
    )
    r = _upload(client, key, text.encode("cp1252"), column="Fechamento")
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    np.testing.assert_allclose(r.json()["forecast"], expected_forecast(models_dir, 2, HISTORY, 3), rtol=1e-4)  # type: ignore[attr-defined]


def test_binary_files_are_named_not_misread(client: TestClient, key: str) -> None:
    for content, what in [
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "gzip"),
        (b"PK\x03\x04rest", "ZIP archive"),
        (codecs.BOM_UTF8 + b"Date,Close\n\x00\x01", "control character"),
    ]:
        r = _upload(client, key, content)
        assert r.status_code == 422 and what in r.json()["detail"], r.text  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def small_limits(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(
        tmp_path_factory.mktemp("csv-limits"), models_dir, max_prices=30, csv_max_columns=3, csv_max_field_chars=32
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_csv_limits_come_from_the_settings(small_limits: TestClient) -> None:
    key = mint(small_limits)
    rows = "".join(f"{(date(2024, 1, 1) + timedelta(days=i)).isoformat()},{100 + i}\n" for i in range(31))
    cases = [
        (f"Date,Close\n{rows}", "more than 30 data rows"),
        ("Date,Close,A,B\n2024-01-01,1,2,3\n", "over the limit of 3 columns"),
        ("Date,Close\n2024-01-01," + "1" * 33 + "\n", "over the 32-character limit"),
    ]
    for text, message in cases:
        r = _upload(small_limits, key, text.encode())
        assert r.status_code == 422 and message in r.json()["detail"], r.text  # type: ignore[attr-defined]
