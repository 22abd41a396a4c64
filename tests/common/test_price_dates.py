"""Date columns are read one way for the whole column: ISO, day-first or month-first."""

from datetime import date

import pytest

from common.prices import PriceDataError, parse_price_csv


def dates(text: str, **kwargs: object) -> list[date]:
    series = parse_price_csv("Date,Close\n" + text, **kwargs)  # type: ignore[arg-type]
    assert series.dates is not None
    return series.dates


def test_us_export_reads_12_11_2024_as_december_11() -> None:
    # A Nasdaq-style export, newest first: 12/13 settles the column as month-first.
    text = "12/13/2024,$248.13\n12/12/2024,$247.96\n12/11/2024,$246.49\n12/10/2024,$247.77\n"
    series = parse_price_csv("Date,Close/Last\n" + text, column="Close/Last")
    assert series.dates == [date(2024, 12, 10), date(2024, 12, 11), date(2024, 12, 12), date(2024, 12, 13)]
    assert series.prices == [247.77, 246.49, 247.96, 248.13]


def test_one_day_above_12_decides_the_whole_column_day_first() -> None:
    assert dates("12/11/2024,1\n13/11/2024,2\n") == [date(2024, 11, 12), date(2024, 11, 13)]


def test_one_second_part_above_12_decides_the_whole_column_month_first() -> None:
    # Read per value, the first row would be 12 November and the file "unsorted".
    assert dates("12/11/2024,1\n12/13/2024,2\n") == [date(2024, 12, 11), date(2024, 12, 13)]


def test_ambiguous_column_settled_by_the_only_sorted_reading() -> None:
    # Day-first: 1 Feb, 1 Mar, 2 Jan (unsorted); month-first: Jan 2, Jan 3, Feb 1 (sorted).
    assert dates("01/02/2024,1\n01/03/2024,2\n02/01/2024,3\n", allow_descending=False) == [
        date(2024, 1, 2),
        date(2024, 1, 3),
        date(2024, 2, 1),
    ]


def test_ambiguous_column_with_identical_readings_needs_no_format() -> None:
    assert dates("01/01/2024,1\n02/02/2024,2\n") == [date(2024, 1, 1), date(2024, 2, 2)]


@pytest.mark.parametrize(
    ("date_format", "expected"),
    [("dayfirst", [date(2024, 2, 1), date(2024, 3, 1)]), ("monthfirst", [date(2024, 1, 2), date(2024, 1, 3)])],
)
def test_date_format_settles_an_ambiguous_column(date_format: str, expected: list[date]) -> None:
    text = "01/02/2024,1\n01/03/2024,2\n"
    with pytest.raises(PriceDataError, match="send date_format=dayfirst or date_format=monthfirst"):
        dates(text)
    assert dates(text, date_format=date_format) == expected
    assert dates(text, date_format=date_format.upper()) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02,1\n2024-01-03,2\n", [date(2024, 1, 2), date(2024, 1, 3)]),
        ("2024/01/02,1\n2024/01/03,2\n", [date(2024, 1, 2), date(2024, 1, 3)]),
        ("20240102,1\n20240103,2\n", [date(2024, 1, 2), date(2024, 1, 3)]),
        ("2024-01-02 00:00:00-05:00,1\n2024-01-03 00:00:00-05:00,2\n", [date(2024, 1, 2), date(2024, 1, 3)]),
        ("2024-01-02T16:00:00Z,1\n2024-01-03T16:00:00Z,2\n", [date(2024, 1, 2), date(2024, 1, 3)]),
        ("31.01.2024,1\n01.02.2024,2\n", [date(2024, 1, 31), date(2024, 2, 1)]),
        ("31-01-24,1\n01-02-24,2\n", [date(2024, 1, 31), date(2024, 2, 1)]),
        ("1/31/99,1\n2/1/99,2\n", [date(1999, 1, 31), date(1999, 2, 1)]),
    ],
    ids=["iso", "iso-slashes", "iso-basic", "yfinance-tz", "iso-utc", "dotted-day-first", "two-digit-year", "us-99"],
)
def test_formats_recognised(text: str, expected: list[date]) -> None:
    assert dates(text) == expected


def test_strptime_pattern() -> None:
    assert dates("02-Jan-2024,1\n03-Jan-2024,2\n", date_format="%d-%b-%Y") == [date(2024, 1, 2), date(2024, 1, 3)]


def test_unsorted_error_lists_every_break_up_to_three() -> None:
    text = "".join(f"2024-01-{d:02d},1\n" for d in (2, 4, 3, 6, 5, 8, 7, 10, 9, 11))
    with pytest.raises(PriceDataError) as info:
        dates(text)
    message = str(info.value)
    assert "row 4 (2024-01-03) after row 3 (2024-01-04)" in message
    assert "row 6 (2024-01-05) after row 5 (2024-01-06)" in message
    assert message.endswith("and 1 more")


def test_descending_file_with_one_break_names_it() -> None:
    with pytest.raises(PriceDataError, match=r"not sorted newest first: row 4 \(2024-01-05\) after row 3"):
        dates("2024-01-06,1\n2024-01-04,2\n2024-01-05,3\n2024-01-03,4\n2024-01-02,5\n")
