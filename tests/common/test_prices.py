"""The CSV layouts, encodings, line endings, separators and number styles the parser reads."""

import math
from datetime import date

import pytest

from common.naming import model_name
from common.prices import (
    MAX_PRICE,
    MIN_PRICE,
    CsvLimits,
    PriceDataError,
    decode_upload,
    parse_price_csv,
    validate_prices,
)

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

PLAIN = "Date,Close\n2024-01-02,10.5\n2024-01-03,11\n2024-01-04,11.25\n"
JAN = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]


def test_yfinance_to_csv_layout_skips_its_extra_header_rows() -> None:
    series = parse_price_csv(YF_TO_CSV)
    assert series.prices == [17.14066505432129, 16.7641544342041]
    assert series.dates == [date(2014, 1, 2), date(2014, 1, 3)]


def test_old_yfinance_layout() -> None:
    series = parse_price_csv(YF_OLD_TO_CSV)
    assert series.prices == [17.14, 16.76]
    assert series.dates == [date(2014, 1, 2), date(2014, 1, 3)]


def test_plain_date_close() -> None:
    series = parse_price_csv(PLAIN)
    assert series.prices == [10.5, 11.0, 11.25]
    assert series.dates == JAN


def test_column_is_case_insensitive_and_selectable() -> None:
    text = "date,open,close\n2024-01-02,1,2\n2024-01-03,3,4\n"
    assert parse_price_csv(text).prices == [2.0, 4.0]
    assert parse_price_csv(text, column="Open").prices == [1.0, 3.0]
    assert parse_price_csv(" Day , Close \n2024-01-02,1\n", date_column="day").dates == [date(2024, 1, 2)]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_line_endings(ending: str) -> None:
    series = parse_price_csv(PLAIN.replace("\n", ending))
    assert series.prices == [10.5, 11.0, 11.25] and series.dates == JAN


@pytest.mark.parametrize(
    ("text", "prices"),
    [
        ("Data;Fechamento\n02/01/2024;1.234,56\n03/01/2024;1.240,10\n15/01/2024;1.250\n", [1234.56, 1240.10, 1250.0]),
        ("Date\tClose\n2024-01-02\t17,5\n2024-01-03\t18,25\n", [17.5, 18.25]),
        ("Date\tClose\n2024-01-02\t17.5\n2024-01-03\t18.25\n", [17.5, 18.25]),
        ('Date,Close\n2024-01-02,"17,5"\n2024-01-03,"18,25"\n', [17.5, 18.25]),  # Sheets in a comma locale
        ('Date,Close\n2024-01-02,"1,234.5"\n2024-01-03,"2,345.25"\n', [1234.5, 2345.25]),
        ("Date;Close\n2024-01-02;1\u00a0234,5\n2024-01-03;1 235,75\n", [1234.5, 1235.75]),  # grouping spaces
        ("Date,Close\n2024-01-02,$234.93\n2024-01-03,US$ 235.5\n", [234.93, 235.5]),  # currency signs
        ("Date;Close\n2024-01-02;R$ 38,12\n2024-01-03;38,40 €\n", [38.12, 38.40]),
        ("Date,Close\n2024-01-02,1e2\n2024-01-03,+1.5E+1\n", [100.0, 15.0]),
        (f"Date,Close\n2024-01-02,{MIN_PRICE!r}\n2024-01-03,{MAX_PRICE:.0f}\n", [MIN_PRICE, MAX_PRICE]),
    ],
    ids=[
        "semicolon-grouped",
        "tab-comma",
        "tab-point",
        "quoted-comma",
        "quoted-grouped",
        "nbsp",
        "usd",
        "brl-eur",
        "exponent",
        "limits",
    ],
)
def test_separators_and_decimal_marks(text: str, prices: list[float]) -> None:
    column = "Fechamento" if "Fechamento" in text else "Close"
    assert parse_price_csv(text, column=column).prices == pytest.approx(prices)


def test_quoted_header_and_cells() -> None:
    series = parse_price_csv('"Date","Close"\n"2024-01-02","10.5"\n"2024-01-03","11"\n')
    assert series.prices == [10.5, 11.0]


def test_rows_of_only_separators_and_blank_lines_are_skipped() -> None:
    series = parse_price_csv("Date,Close\n,,,\n2024-01-02,1\n\n , \n2024-01-03,2\n,,,,\n;;\n".replace(";;", ",,"))
    assert series.prices == [1.0, 2.0]


def test_trailing_empty_cells_are_fine() -> None:
    assert parse_price_csv("Date,Close,\n2024-01-02,1,\n2024-01-03,2,,\n").prices == [1.0, 2.0]


def test_descending_dates_are_reversed_unless_refused() -> None:
    text = "Date,Close\n2024-01-04,3\n2024-01-03,2\n2024-01-02,1\n"
    series = parse_price_csv(text)
    assert series.prices == [1.0, 2.0, 3.0]
    assert series.dates == JAN
    with pytest.raises(PriceDataError, match=r"not sorted oldest first: they run newest first from row 2"):
        parse_price_csv(text, allow_descending=False)


def test_single_column_with_and_without_header() -> None:
    assert parse_price_csv("Close\n1\n2\n").prices == [1.0, 2.0]
    assert parse_price_csv("1.5\n2.5\n").prices == [1.5, 2.5]
    assert parse_price_csv("Fechamento\n1,5\r2,5\r").prices == [1.5, 2.5]


def test_no_date_column_keeps_file_order() -> None:
    series = parse_price_csv("Close,Volume\n3,10\n1,20\n")
    assert series.prices == [3.0, 1.0] and series.dates is None


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("cp1252", b""),
    ],
)
def test_encodings(encoding: str, bom: bytes) -> None:
    text = "Data;Preço de fechamento\r\n02/01/2024;17,5\r\n03/01/2024;18\r\n15/01/2024;19\r\n"
    series = parse_price_csv(decode_upload(bom + text.encode(encoding)), column="preço de fechamento")
    assert series.prices == [17.5, 18.0, 19.0]
    assert series.dates == [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 15)]


def test_limits_are_inclusive() -> None:
    limits = CsvLimits(max_rows=3, max_columns=2, max_field_chars=10)
    assert len(parse_price_csv(PLAIN, limits=limits)) == 3


def test_bundled_yahoo_file_reads_whole(tmp_path: object) -> None:
    from training.collect import bundled_path

    path = bundled_path("AAPL")
    assert path is not None
    series = parse_price_csv(decode_upload(path.read_bytes()))
    assert len(series) > 2000 and series.dates is not None and series.dates[0] == date(2014, 1, 2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 0.0, 1e-40, 3.5e38, 1e308, 10**400, "12", None, True])
def test_validate_prices_rejects(bad: object) -> None:
    with pytest.raises(PriceDataError, match=r"prices\[1\]"):
        validate_prices([1.0, bad])  # type: ignore[list-item]


def test_validate_prices_accepts_ints_and_the_limits() -> None:
    assert validate_prices([1, MIN_PRICE, MAX_PRICE]) == [1.0, MIN_PRICE, MAX_PRICE]


@pytest.mark.parametrize(
    ("ticker", "name"), [("AAPL", "aapl"), ("PETR4.SA", "petr4_sa"), ("^BVSP", "bvsp"), ("BRK-B", "brk_b")]
)
def test_model_name(ticker: str, name: str) -> None:
    assert model_name(ticker) == name
