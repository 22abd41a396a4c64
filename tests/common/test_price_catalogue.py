"""A catalogue of hostile price files: each is refused with a PriceDataError that says what and where.

Every entry is a distinct way a file goes wrong; the expected message names the
row (as numbered in the file), the cell or the column, or the limit broken.
"""

import re

import pytest

from common.prices import CsvLimits, PriceDataError, decode_upload, parse_price_csv

H = "Date,Close\n"
OK = "2024-01-02,10\n"
LONG = "9" * 200_000  # over the csv module's own 131,072-character field limit

# (id, text, keyword arguments, expected message as a regular expression)
CSV_CASES: list[tuple[str, str, dict[str, object], str]] = [
    ("empty", "", {}, r"the CSV is empty"),
    ("only-whitespace", " \n\t\r\n", {}, r"the CSV is empty"),
    ("header-only", H, {}, r"header but no data rows"),
    ("only-separator-rows", H + ",,,\n,,\n", {}, r"header but no data rows"),
    ("no-price-column", "Date,Open\n2024-01-02,1\n", {}, r"no 'Close' column \(columns: 'Date', 'Open'\)"),
    ("price-column-twice", "Date,Close,close\n2024-01-02,1,2\n", {}, r"names 'Close' in columns 2 and 3"),
    ("no-header", "2024-01-02,10\n2024-01-03,11\n", {}, r"row 1 looks like data, not a header"),
    ("price-not-a-number", H + OK + "2024-01-03,abc\n", {}, r"row 3, 'Close': 'abc' is not a number"),
    ("price-cell-empty", H + OK + "2024-01-03,\n", {}, r"row 3: the 'Close' cell is empty"),
    ("price-cell-missing", H + OK + "2024-01-03\n", {}, r"row 3 has no 'Close' cell \(it has 1 cells\)"),
    ("price-nan", H + OK + "2024-01-03,NaN\n", {}, r"row 3, 'Close': 'NaN' is not a finite number"),
    ("price-infinity", H + OK + "2024-01-03,-inf\n", {}, r"row 3, 'Close': '-inf' is not a finite number"),
    ("price-negative", H + OK + "2024-01-03,-3.5\n", {}, r"row 3, 'Close': -3.5 is not positive"),
    ("price-zero", H + OK + "2024-01-03,0.00\n", {}, r"row 3, 'Close': 0.0 is not positive"),
    ("price-float32-subnormal", H + OK + "2024-01-03,1e-40\n", {}, r"row 3, 'Close': 1e-40 is below the smallest"),
    ("price-over-float32", H + OK + "2024-01-03,3.5e38\n", {}, r"row 3, 'Close': 3.5e\+38 is above the largest"),
    ("price-1e308", H + OK + "2024-01-03,1e308\n", {}, r"row 3, 'Close': 1e\+308 is above the largest"),
    ("price-overflows-float64", H + OK + "2024-01-03,1e400\n", {}, r"row 3, 'Close': inf is not a finite number"),
    ("price-underscores", H + OK + "2024-01-03,1_000\n", {}, r"row 3, 'Close': '1_000' is not a number"),
    ("price-hex", H + OK + "2024-01-03,0x1A\n", {}, r"row 3, 'Close': '0x1A' is not a number"),
    ("price-arabic-digits", H + OK + "2024-01-03,\u0661\u0662\n", {}, r"row 3, 'Close': '١٢' is not a number"),
    ("price-two-numbers", H + OK + '2024-01-03,"1 2.5.6"\n', {}, r"row 3, 'Close': '1 2.5.6' is not a number"),
    (
        "mixed-decimal-marks",
        'Date;Close\n2024-01-02;"17,5"\n2024-01-03;17.25\n',
        {},
        r"'Close' column: the column mixes decimal points \(row 3: '17.25'\) and decimal commas \(row 2: '17,5'\)",
    ),
    ("unquoted-decimal-comma", H + "2024-01-02,17,5\n", {}, r"row 2 has 3 cells but the header names 2 columns"),
    ("unclosed-quote", H + OK + '2024-01-03,"12\n2024-01-04,13\n', {}, r"row 3: a quoted field is never closed"),
    ("text-after-quote", H + OK + '2024-01-03,"12"x\n', {}, r"row 3: unreadable CSV"),
    ("newline-inside-quotes", H + OK + '2024-01-03,"12\n13"\n', {}, r"row 3, 'Close': '12\\n13' is not a number"),
    ("date-cell-empty", H + OK + ",11\n", {}, r"row 3: the 'Date' cell is empty"),
    ("date-cell-missing", "Close,Date\n10,2024-01-02\n11\n", {}, r"row 3 has no 'Date' cell"),
    ("date-not-a-date", H + OK + "yesterday,11\n", {}, r"'Date' column: row 3: 'yesterday' is not a date"),
    ("date-impossible-iso", H + OK + "2024-02-30,11\n", {}, r"row 3: '2024-02-30' is not a valid ISO date"),
    (
        "date-styles-mixed",
        H + OK + "03/01/2024,11\n",
        {},
        r"mixes styles: row 2 has '2024-01-02', row 3 has '03/01/2024'",
    ),
    (
        "date-day-and-month-first",
        H + "25/01/2024,10\n01/26/2024,11\n",
        {},
        r"day-first in row 2 \('25/01/2024'\) but month-first in row 3 \('01/26/2024'\)",
    ),
    (
        "date-impossible-day-first",
        H + "13/01/2024,10\n31/02/2024,11\n",
        {},
        r"row 3: '31/02/2024' is not a valid day-first date \(row 2: '13/01/2024' makes the column day-first\)",
    ),
    (
        "date-ambiguous-both-sorted",
        H + "01/02/2024,10\n01/03/2024,11\n",
        {},
        r"ambiguous dates: .*row 2: '01/02/2024'.* both readings are in date order; send date_format",
    ),
    (
        "date-ambiguous-neither-sorted",
        H + "02/01/2024,10\n01/03/2024,11\n03/02/2024,12\n",
        {},
        r"ambiguous dates: .* neither reading is in date order; send date_format",
    ),
    ("date-duplicated", H + OK + "2024-01-02,11\n", {}, r"duplicated date 2024-01-02 in rows 2 and 3"),
    (
        "dates-unsorted",
        H + OK + "2024-01-04,11\n2024-01-03,12\n2024-01-05,13\n",
        {},
        r"dates are not sorted oldest first: row 4 \(2024-01-03\) after row 3 \(2024-01-04\)",
    ),
    (
        "dates-descending-refused",
        H + "2024-01-03,11\n2024-01-02,10\n",
        {"allow_descending": False},
        r"not sorted oldest first: they run newest first from row 2",
    ),
    ("date-format-unknown", H + OK, {"date_format": "yyyy-mm-dd"}, r"unknown date_format 'yyyy-mm-dd'"),
    ("date-format-mismatch", H + OK, {"date_format": "%d.%m.%Y"}, r"row 2: '2024-01-02' does not match date_format"),
    ("date-format-iso-but-not", H + "02/01/2024,10\n", {"date_format": "iso"}, r"row 2: '02/01/2024' is not an ISO"),
    ("date-format-without-dates", "Close\n1\n", {"date_format": "iso"}, r"single column, no dates"),
    ("date-format-no-date-column", "Close,Volume\n1,2\n", {"date_format": "iso"}, r"has no date column"),
    ("date-column-unknown", H + OK, {"date_column": "When"}, r"no 'When' column"),
    ("date-column-is-price", H + OK, {"date_column": "Close"}, r"the price and date columns are the same"),
    ("field-over-limit", H + "2024-01-02," + "1" * 300 + "\n", {}, r"row 2, column 2: a field of 300 characters"),
    ("field-over-csv-limit", H + OK + "2024-01-03," + LONG + "\n", {}, r"row 3: a field is longer than the 256-char"),
    ("too-many-columns", ",".join(["Close"] + [f"c{i}" for i in range(120)]) + "\n", {}, r"row 1 has 121 cells"),
    ("too-many-rows", H + "".join(f"2024-01-{d:02d},10\n" for d in range(1, 8)), {}, r"more than 5 data rows"),
    ("single-column-bad-value", "Close\n1\n2\nx\n", {}, r"row 4, 'price': 'x' is not a number"),
    ("single-column-header-only", "Close\n", {}, r"no prices"),
]

# (id, raw bytes, expected message)
BYTES_CASES: list[tuple[str, bytes, str]] = [
    ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", r"this looks like a gzip file, not a CSV: send plain CSV"),
    ("xlsx", b"PK\x03\x04\x14\x00\x06\x00", r"a ZIP archive \(an .xlsx or .ods workbook is one\)"),
    ("xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", r"an old Excel .xls workbook"),
    ("pdf", b"%PDF-1.7\n", r"a PDF document"),
    ("png", b"\x89PNG\r\n\x1a\n", r"a PNG image"),
    ("utf16-without-bom", "Date,Close\n".encode("utf-16-le"), r"NUL bytes \(first at byte 1\).*UTF-16 without"),
    ("nul-byte", b"Date,Close\n2024-01-02,1\x00\n", r"NUL bytes \(first at byte 23\)"),
    ("control-chars", b"Date,Close\n2024-01-02,1\n\x1b[2J\x07\n", r"control character U\+001B on line 3"),
    ("control-chars-bare-cr", b"Date,Close\r2024-01-02,1\r\x02\r", r"control character U\+0002 on line 3"),
    ("odd-utf16", b"\xff\xfeD\x00a", r"not text in utf-16"),
    ("undefined-cp1252", b"Date,Close\n2024-01-02,1\x81\n", r"not text in UTF-8 or cp1252 \(byte 23"),
]


@pytest.mark.parametrize(("text", "kwargs", "message"), [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES])
def test_hostile_csv_is_refused_with_what_and_where(text: str, kwargs: dict[str, object], message: str) -> None:
    limits = CsvLimits(max_rows=5) if "2024-01-07" in text else None
    with pytest.raises(PriceDataError, match=message):
        parse_price_csv(text, limits=limits, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "message"), [c[1:] for c in BYTES_CASES], ids=[c[0] for c in BYTES_CASES])
def test_hostile_bytes_are_refused_before_parsing(raw: bytes, message: str) -> None:
    with pytest.raises(PriceDataError, match=message):
        decode_upload(raw)


def test_the_catalogue_is_large_and_distinct() -> None:
    ids = [c[0] for c in CSV_CASES] + [c[0] for c in BYTES_CASES]
    assert len(ids) == len(set(ids)) >= 60


def test_every_line_ending_numbers_rows_alike() -> None:
    text = H + OK + "2024-01-03,abc\n"
    for ending in ("\r\n", "\r"):
        with pytest.raises(PriceDataError, match=re.escape("row 3, 'Close': 'abc'")):
            parse_price_csv(text.replace("\n", ending))
