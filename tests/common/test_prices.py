import math
from datetime import date

import pytest

from common.naming import model_name
from common.prices import PriceDataError, parse_price_csv, validate_prices

YF_TO_CSV = """Price,Close,High,Low,Open,Volume
Ticker,AAPL,AAPL,AAPL,AAPL,AAPL
Date,,,,,
2014-01-02,17.14066505432129,17.26152046244112,17.106268280537122,17.219686280006737,234684800
2014-01-03,16.7641544342041,17.158327131767653,16.747109960318376,17.13229785851057,392467600
"""

# yfinance 0.2.x wrote an empty first header cell and an empty-led ticker row.
YF_OLD_TO_CSV = """,Close,High,Low,Open,Volume
,AAPL,AAPL,AAPL,AAPL,AAPL
Date,,,,,
2014-01-02,17.14,17.26,17.10,17.21,234684800
2014-01-03,16.76,17.15,16.74,17.13,392467600
"""


def test_yfinance_to_csv_layout_skips_its_extra_header_rows() -> None:
    series = parse_price_csv(YF_TO_CSV)
    assert series.prices == [17.14066505432129, 16.7641544342041]
    assert series.dates == [date(2014, 1, 2), date(2014, 1, 3)]


def test_old_yfinance_layout() -> None:
    series = parse_price_csv(YF_OLD_TO_CSV)
    assert series.prices == [17.14, 16.76]
    assert series.dates == [date(2014, 1, 2), date(2014, 1, 3)]


def test_plain_date_close() -> None:
    series = parse_price_csv("Date,Close\n2024-01-02,10.5\n2024-01-03,11\n")
    assert series.prices == [10.5, 11.0]
    assert series.dates == [date(2024, 1, 2), date(2024, 1, 3)]


def test_column_is_case_insensitive_and_selectable() -> None:
    text = "date,open,close\n2024-01-02,1,2\n2024-01-03,3,4\n"
    assert parse_price_csv(text).prices == [2.0, 4.0]
    assert parse_price_csv(text, column="Open").prices == [1.0, 3.0]


def test_semicolons_and_decimal_commas() -> None:
    text = "Data;Fechamento\n02/01/2024;1.234,56\n03/01/2024;1.240,10\n"
    series = parse_price_csv(text, column="Fechamento")
    assert series.prices == [1234.56, 1240.10]
    assert series.dates == [date(2024, 1, 2), date(2024, 1, 3)]


def test_descending_dates_sorted_only_when_allowed() -> None:
    text = "Date,Close\n2024-01-04,3\n2024-01-03,2\n2024-01-02,1\n"
    with pytest.raises(PriceDataError, match="not sorted"):
        parse_price_csv(text)
    series = parse_price_csv(text, allow_descending=True)
    assert series.prices == [1.0, 2.0, 3.0]
    assert series.dates is not None and series.dates[0] == date(2024, 1, 2)


def test_single_column_with_and_without_header() -> None:
    assert parse_price_csv("Close\n1\n2\n").prices == [1.0, 2.0]
    assert parse_price_csv("1.5\n2.5\n").prices == [1.5, 2.5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Date,Open\n2024-01-02,1\n", "no 'Close' column"),
        ("Date,Close\n2024-01-02,abc\n", "line 2: 'Close' is not a number: 'abc'"),
        ("Date,Close\n2024-01-02,\n", "line 2: empty 'Close'"),
        ("Date,Close\n2024-01-02,nan\n", "not finite"),
        ("Date,Close\n2024-01-02,-3\n", "must be positive"),
        ("Date,Close\n2024-01-02,1\n2024-01-02,2\n", "duplicated date 2024-01-02"),
        ("Date,Close\n2024-01-03,1\n2024-01-02,2\n2024-01-04,2\n", "not sorted"),
        ("Date,Close\nyesterday,1\n", "bad date"),
        ("Date,Close\n", "no data rows"),
    ],
)
def test_bad_files_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(PriceDataError, match=message.replace("(", r"\(")):
        parse_price_csv(text)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 0.0, "12", None, True])
def test_validate_prices_rejects(bad: object) -> None:
    with pytest.raises(PriceDataError, match=r"prices\[1\]"):
        validate_prices([1.0, bad])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("ticker", "name"), [("AAPL", "aapl"), ("PETR4.SA", "petr4_sa"), ("^BVSP", "bvsp"), ("BRK-B", "brk_b")]
)
def test_model_name(ticker: str, name: str) -> None:
    assert model_name(ticker) == name
