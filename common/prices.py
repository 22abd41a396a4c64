"""Price series parsing and validation, in the standard library only.

Training and the facade both read price CSVs; the facade must stay light (no
pandas on its request path), so the parser lives here, stdlib only.

Layouts understood:

* plain ``Date,Close`` (any extra columns, the price column picked by name);
* yfinance's ``DataFrame.to_csv`` output, whose header is followed by a
  ``Ticker,AAPL,...`` row and a ``Date,,,`` row (older releases wrote the
  first header cell empty and the ticker row with an empty first cell);
* semicolon-separated files with decimal commas (``1.234,56``), as spreadsheets
  in Brazilian and most European locales save them;
* a single column of prices with or without a header.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

DATE_HEADERS = ("date", "datetime", "timestamp", "time", "data")
# First header cell of yfinance's to_csv layout (the index name row).
YF_HEADER_CELLS = ("price", "")
YF_EXTRA_ROW_CELLS = ("ticker", "date", "")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y")


class PriceDataError(ValueError):
    """A price series that cannot be used, with a message saying why."""


@dataclass(frozen=True)
class PriceSeries:
    """Prices in chronological order, with their dates when the source had them."""

    prices: list[float]
    dates: list[date] | None = None

    def __len__(self) -> int:
        return len(self.prices)


def parse_price(text: str, *, decimal_comma: bool = False) -> float:
    """Parses one price cell; raises ValueError when it is not a number."""
    cell = text.strip().replace(" ", "")
    if decimal_comma:
        cell = cell.replace(".", "").replace(",", ".")
    return float(cell)


def parse_date(text: str) -> date:
    """Parses ISO dates (with or without a time part) and common day-first forms."""
    cell = text.strip()
    try:
        return datetime.fromisoformat(cell).date()
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(cell, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unrecognised date {cell!r}")


def validate_prices(prices: Sequence[float], *, what: str = "prices") -> list[float]:
    """Checks that every price is a finite positive number.

    Raises:
        PriceDataError: naming the first offending position.
    """
    out: list[float] = []
    for i, p in enumerate(prices):
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise PriceDataError(f"{what}[{i}] is not a number: {p!r}")
        value = float(p)
        if not math.isfinite(value):
            raise PriceDataError(f"{what}[{i}] is not finite ({value})")
        if value <= 0:
            raise PriceDataError(f"{what}[{i}] must be positive, got {value}")
        out.append(value)
    return out


def check_dates(dates: Sequence[date], *, allow_descending: bool) -> bool:
    """Checks date order; returns True when the series must be reversed.

    Raises:
        PriceDataError: on duplicated dates or an order that is neither
            ascending nor (when allowed) descending.
    """
    seen: set[date] = set()
    for d in dates:
        if d in seen:
            raise PriceDataError(f"duplicated date {d.isoformat()}")
        seen.add(d)
    pairs = list(itertools.pairwise(dates))
    if all(a < b for a, b in pairs):
        return False
    if allow_descending and all(a > b for a, b in pairs):
        return True
    first_bad = next((b for a, b in pairs if a >= b), dates[-1])
    raise PriceDataError(f"dates are not sorted (first out of order: {first_bad.isoformat()})")


def _sniff_delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def parse_price_csv(
    text: str,
    *,
    column: str = "Close",
    date_column: str | None = None,
    allow_descending: bool = False,
) -> PriceSeries:
    """Parses a price CSV into a chronological series.

    Args:
        text: the file's content.
        column: name of the price column (case-insensitive). A file with a
            single column is read as prices whatever its header.
        date_column: name of the date column; found by name when omitted
            (``Date``, or the first column of yfinance's layout).
        allow_descending: reverse files whose dates run newest first instead
            of rejecting them.

    Raises:
        PriceDataError: with a message naming the line or column at fault.
    """
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise PriceDataError("the CSV is empty")
    delimiter = _sniff_delimiter(first)
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0]]
    lowered = [c.lower() for c in header]

    if len(header) == 1:
        return _single_column(rows, decimal_comma=delimiter == ";")

    if column.lower() not in lowered:
        raise PriceDataError(f"no {column!r} column (columns: {', '.join(header)})")
    price_idx = lowered.index(column.lower())

    yf_layout = lowered[0] in YF_HEADER_CELLS
    date_idx: int | None
    if date_column is not None:
        if date_column.lower() not in lowered:
            raise PriceDataError(f"no {date_column!r} column (columns: {', '.join(header)})")
        date_idx = lowered.index(date_column.lower())
    elif yf_layout:
        date_idx = 0
    else:
        date_idx = next((i for i, c in enumerate(lowered) if c in DATE_HEADERS), None)

    body_start = 1
    if yf_layout:
        # Skip the "Ticker,AAPL,..." and "Date,,,," rows under the header.
        while body_start < len(rows) and rows[body_start][0].strip().lower() in YF_EXTRA_ROW_CELLS:
            body_start += 1

    prices: list[float] = []
    dates: list[date] = []
    for offset, row in enumerate(rows[body_start:]):
        line = body_start + offset + 1
        if len(row) <= price_idx or not row[price_idx].strip():
            raise PriceDataError(f"line {line}: empty {header[price_idx]!r} value")
        try:
            prices.append(parse_price(row[price_idx], decimal_comma=delimiter == ";"))
        except ValueError:
            raise PriceDataError(
                f"line {line}: {header[price_idx]!r} is not a number: {row[price_idx].strip()!r}"
            ) from None
        if date_idx is not None:
            try:
                dates.append(parse_date(row[date_idx]))
            except (ValueError, IndexError):
                raise PriceDataError(f"line {line}: bad date {row[date_idx]!r}") from None

    if not prices:
        raise PriceDataError("the CSV has a header but no data rows")
    prices = validate_prices(prices, what=header[price_idx])
    if date_idx is None:
        return PriceSeries(prices)
    if check_dates(dates, allow_descending=allow_descending):
        dates.reverse()
        prices.reverse()
    return PriceSeries(prices, dates)


def _single_column(rows: list[list[str]], *, decimal_comma: bool) -> PriceSeries:
    start = 0
    try:
        parse_price(rows[0][0], decimal_comma=decimal_comma)
    except ValueError:
        start = 1  # a header
    prices: list[float] = []
    for i, row in enumerate(rows[start:], start=start + 1):
        try:
            prices.append(parse_price(row[0], decimal_comma=decimal_comma))
        except ValueError:
            raise PriceDataError(f"line {i}: not a number: {row[0].strip()!r}") from None
    if not prices:
        raise PriceDataError("the CSV has no prices")
    return PriceSeries(validate_prices(prices))
