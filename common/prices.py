"""Price series parsing and validation, in the standard library only.

Training and the facade both read price CSVs; the facade must stay light (no
pandas on its request path), so the parser lives here, stdlib only. Every
problem with the input is a :class:`PriceDataError` whose message says what is
wrong and where (rows numbered as in the file, counting from 1).

Layouts understood:

* plain ``Date,Close`` (any extra columns, the price column picked by name);
* yfinance's ``DataFrame.to_csv`` output, whose header is followed by a
  ``Ticker,AAPL,...`` row and a ``Date,,,`` row (older releases wrote the
  first header cell empty and the ticker row with an empty first cell);
* ``,``, ``;`` or tab separators, sniffed from the first lines; decimal points
  or commas (``1.234,56``), decided from the whole price column
  (:func:`common.price_values.decimal_mark`); quoted fields;
* LF, CRLF or bare CR line endings; dates oldest or newest first;
* ISO, day-first or month-first dates, decided from the whole column
  (:mod:`common.price_dates`);
* a single column of prices with or without a header.

Rows whose cells are all empty (``,,,``) are skipped, like blank lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from common.price_dates import DATE_FORMAT_NAMES, check_order, read_dates
from common.price_text import decode_upload
from common.price_values import (
    MAX_PRICE,
    MIN_PRICE,
    PriceDataError,
    check_price,
    decimal_mark,
    parse_number,
    show,
    validate_prices,
)

__all__ = [
    "DATE_FORMAT_NAMES",
    "MAX_PRICE",
    "MIN_PRICE",
    "CsvLimits",
    "PriceDataError",
    "PriceSeries",
    "check_price",
    "decode_upload",
    "parse_price_csv",
    "validate_prices",
]

DATE_HEADERS = ("date", "datetime", "timestamp", "time", "data")
# First header cell of yfinance's to_csv layout (the index name row).
YF_HEADER_CELLS = ("price", "")
DELIMITERS = (",", ";", "\t")
_SNIFF_CHARS = 65_536
_SNIFF_ROWS = 20


@dataclass(frozen=True)
class PriceSeries:
    """Prices in chronological order, with their dates when the source had them."""

    prices: list[float]
    dates: list[date] | None = None

    def __len__(self) -> int:
        return len(self.prices)


@dataclass(frozen=True)
class CsvLimits:
    """Bounds on a CSV's shape; a file beyond any of them is refused with the limit named."""

    max_rows: int = 100_000  # data rows, after the header
    max_columns: int = 100
    max_field_chars: int = 256

    def __post_init__(self) -> None:
        if self.max_rows < 1 or self.max_columns < 1:
            raise ValueError("CSV limits must be at least 1")
        if not 1 <= self.max_field_chars <= csv.field_size_limit():
            raise ValueError(f"max_field_chars must be between 1 and the csv module's {csv.field_size_limit()}")


def _records(text: str, delimiter: str, limits: CsvLimits) -> Iterator[tuple[int, list[str]]]:
    """Yields ``(row, cells)`` for each record that has a non-empty cell; row is its first line in the file."""
    # strict: an unterminated quote or text after a closing quote is an error, not a silently merged cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise PriceDataError(
                    f"row {line}: a field is longer than the {limits.max_field_chars}-character limit"
                ) from None
            if "end of data" in str(exc):
                raise PriceDataError(f"row {line}: a quoted field is never closed") from None
            raise PriceDataError(f"row {line}: unreadable CSV ({exc}; quote whole cells)") from None
        row, line = line, reader.line_num + 1
        if len(cells) > limits.max_columns:
            raise PriceDataError(f"row {row} has {len(cells)} cells, over the limit of {limits.max_columns} columns")
        for col, cell in enumerate(cells, start=1):
            if len(cell) > limits.max_field_chars:
                raise PriceDataError(
                    f"row {row}, column {col}: a field of {len(cell)} characters, "
                    f"over the {limits.max_field_chars}-character limit ({show(cell, 20)})"
                )
        if any(c.strip() for c in cells):
            yield row, [c.strip() for c in cells]


def _sniff(text: str) -> str | None:
    """The separator that splits the first lines into the same number (>= 2) of cells; None: one column."""
    best: tuple[int, int, str] | None = None
    sample = text[:_SNIFF_CHARS]
    for delimiter in DELIMITERS:
        try:
            reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
            rows = [r for r in reader if any(c.strip() for c in r)][:_SNIFF_ROWS]
        except csv.Error:
            continue  # e.g. an over-long field: _records reports it with its row
        if not rows or len(rows[0]) < 2:
            continue
        score = (sum(len(r) == len(rows[0]) for r in rows), len(rows[0]), delimiter)
        if best is None or score[:2] > best[:2]:
            best = score
    return None if best is None else best[2]


def _find(header: list[str], name: str) -> int:
    lowered = [c.lower() for c in header]
    hits = [i for i, c in enumerate(lowered) if c == name.strip().lower()]
    if not hits:
        raise PriceDataError(f"no {name!r} column (columns: {', '.join(show(c, 20) for c in header)})")
    if len(hits) > 1:
        raise PriceDataError(f"the header names {name!r} in columns {' and '.join(str(i + 1) for i in hits[:2])}")
    return hits[0]


def _looks_like_data(cells: list[str]) -> bool:
    for cell in cells:
        try:
            parse_number(cell)
            return True
        except PriceDataError:
            pass
        try:
            read_dates([(1, cell)])
            return True
        except PriceDataError:
            pass
    return False


def _is_yf_extra_row(cells: list[str]) -> bool:
    first, rest = cells[0].lower(), cells[1:]
    if first == "date":
        return not any(rest)
    return first in ("ticker", "") and not _looks_like_data(rest)


def parse_price_csv(
    text: str,
    *,
    column: str = "Close",
    date_column: str | None = None,
    date_format: str | None = None,
    allow_descending: bool = True,
    limits: CsvLimits | None = None,
) -> PriceSeries:
    """Parses a price CSV into a chronological series.

    Args:
        text: the file's content (see :func:`decode_upload` for bytes).
        column: name of the price column (case-insensitive). A file with a
            single column is read as prices whatever its header.
        date_column: name of the date column; found by name when omitted
            (``Date``, or the first column of yfinance's layout).
        date_format: ``iso``, ``dayfirst``, ``monthfirst`` or a strptime
            pattern; decided from the whole column when omitted.
        allow_descending: reverse files whose dates run newest first instead
            of rejecting them.
        limits: bounds on rows, columns and field length (defaults: :class:`CsvLimits`).

    Raises:
        PriceDataError: with a message naming the rows, cells or columns at fault.
    """
    limits = limits or CsvLimits()
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise PriceDataError("the CSV is empty")
    delimiter = _sniff(text)
    records = _records(text, delimiter or ",", limits)
    if delimiter is None:
        if date_format is not None:
            raise PriceDataError("date_format was given but the CSV has a single column, no dates")
        single = _records(text, "\x1f", limits)  # no separator: one cell per line
        return _single_column(single, limits)
    first_row, header = next(records)

    if _looks_like_data(header):
        raise PriceDataError(
            f"row {first_row} looks like data, not a header ({show(delimiter.join(header), 60)}): "
            f"the first row must name the columns, e.g. Date{delimiter}{column}"
        )
    price_idx = _find(header, column)
    yf_layout = header[0].lower() in YF_HEADER_CELLS
    date_idx: int | None
    if date_column is not None:
        date_idx = _find(header, date_column)
    elif yf_layout:
        date_idx = 0
    else:
        date_idx = next((i for i, c in enumerate(header) if c.lower() in DATE_HEADERS), None)
    if date_idx == price_idx:
        raise PriceDataError(f"the price and date columns are the same column ({header[price_idx]!r})")
    if date_idx is None and date_format is not None:
        raise PriceDataError(f"date_format was given but the CSV has no date column (columns: {', '.join(header)})")
    price_name = header[price_idx]
    date_name = "Date" if yf_layout and date_idx == 0 else header[date_idx] if date_idx is not None else ""

    price_cells: list[tuple[int, str]] = []
    date_cells: list[tuple[int, str]] = []
    in_yf_block = yf_layout
    for row, cells in records:
        if in_yf_block and _is_yf_extra_row(cells):
            continue  # "Ticker,AAPL,..." and "Date,,,," under yfinance's header
        in_yf_block = False
        if len(price_cells) == limits.max_rows:
            raise PriceDataError(f"more than {limits.max_rows} data rows (the limit); send the recent history only")
        extra = [c for c in cells[len(header) :] if c]
        if extra:
            raise PriceDataError(
                f"row {row} has {len(header) + len(extra)} cells but the header names {len(header)} columns "
                "(unquoted decimal commas? quote them or separate cells with ';')"
            )
        price_cells.append((row, _cell(cells, price_idx, price_name, row)))
        if date_idx is not None:
            date_cells.append((row, _cell(cells, date_idx, date_name, row)))

    if not price_cells:
        raise PriceDataError("the CSV has a header but no data rows")
    prices = _prices(price_cells, price_name, delimiter)
    if date_idx is None:
        return PriceSeries(prices)
    try:
        dates = read_dates(date_cells, date_format=date_format, allow_descending=allow_descending)
    except PriceDataError as exc:
        raise PriceDataError(f"{date_name!r} column: {exc}") from None
    if check_order([r for r, _ in date_cells], dates, allow_descending=allow_descending):
        dates.reverse()
        prices.reverse()
    return PriceSeries(prices, dates)


def _cell(cells: list[str], idx: int, name: str, row: int) -> str:
    if idx >= len(cells):
        raise PriceDataError(f"row {row} has no {name!r} cell (it has {len(cells)} cells)")
    if not cells[idx]:
        raise PriceDataError(f"row {row}: the {name!r} cell is empty")
    return cells[idx]


def _prices(cells: list[tuple[int, str]], name: str, delimiter: str) -> list[float]:
    try:
        decimal = decimal_mark(cells, delimiter=delimiter)
    except PriceDataError as exc:
        raise PriceDataError(f"{name!r} column: {exc}") from None
    out = []
    for row, text in cells:
        try:
            out.append(check_price(parse_number(text, decimal=decimal)))
        except PriceDataError as exc:
            raise PriceDataError(f"row {row}, {name!r}: {exc}") from None
    return out


def _single_column(records: Iterator[tuple[int, list[str]]], limits: CsvLimits) -> PriceSeries:
    rows = list(records)
    if len(rows) > limits.max_rows + 1:
        raise PriceDataError(f"more than {limits.max_rows} data rows (the limit); send the recent history only")
    if not _looks_like_data(rows[0][1]):
        rows = rows[1:]  # a header
    if not rows:
        raise PriceDataError("the CSV has no prices")
    cells = [(row, cells[0]) for row, cells in rows]
    return PriceSeries(_prices(cells, "price", ","))
