"""Date columns: the format decided from the whole column, and the order checked with row numbers.

Stdlib only. ``common.prices`` re-exports the public names; import from there.

How a column's format is decided (``date_format=None``):

1. Year-first cells (``2024-01-31``, ``2024/01/31``, ``20240131``, with an
   optional time part) are ISO.
2. Other cells must be three numbers, ``a/b/year`` (``/``, ``.`` or ``-``; two-
   or four-digit years). If some ``a`` is above 12 the column is day-first; if
   some ``b`` is, month-first; both at once is an error naming one row of each.
3. When no value settles it (every ``a`` and ``b`` is 12 or less), the column is
   read both ways. If both readings give the same dates, or exactly one of them
   puts the rows in order (oldest first, or newest first where allowed), that
   one is used: daily prices are sorted, so the other reading cannot be meant.
   Otherwise the caller must say: ``date_format`` is ``iso``, ``dayfirst``,
   ``monthfirst`` or a :func:`datetime.strptime` pattern such as ``%d-%b-%Y``.

A column never mixes styles: every cell is read the same way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import date, datetime

from common.price_values import PriceDataError, show

DATE_FORMAT_NAMES = ("iso", "dayfirst", "monthfirst")
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?(?:Z|[+-]\d{2}:?\d{2}))?)?"
_YMD = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME + r"|(\d{4})(\d{2})(\d{2})")
_XY = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})" + _TIME)
EXPECTED = "expected e.g. 2024-01-31, 31/01/2024 or 01/31/2024"

Cells = Sequence[tuple[int, str]]


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # strptime's %y convention
        year += 2000 if year < 69 else 1900
    return year


def _make(row: int, text: str, year: int, month: int, day: int, how: str, why: str = "") -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise PriceDataError(f"row {row}: {show(text)} is not a valid {how} date{why}") from None


def _ymd(cells: Cells) -> list[date]:
    out = []
    for row, text in cells:
        m = _YMD.fullmatch(text)
        if m is None:
            raise PriceDataError(f"row {row}: {show(text)} is not an ISO date (year first, e.g. 2024-01-31)")
        y, mo, d = (m.group(1), m.group(3), m.group(4)) if m.group(1) else (m.group(5), m.group(6), m.group(7))
        out.append(_make(row, text, int(y), int(mo), int(d), "ISO"))
    return out


def _numeric(cells: Cells, *, day_first: bool, why: str = "") -> list[date]:
    how = "day-first" if day_first else "month-first"
    out = []
    for row, text in cells:
        m = _XY.fullmatch(text)
        if m is None:
            raise PriceDataError(f"row {row}: {show(text)} is not a {how} date like {_example(day_first)}")
        a, b, year = int(m.group(1)), int(m.group(3)), _year(m.group(4))
        day, month = (a, b) if day_first else (b, a)
        out.append(_make(row, text, year, month, day, how, why))
    return out


def _example(day_first: bool) -> str:
    return "31/01/2024" if day_first else "01/31/2024"


def _strptime(cells: Cells, pattern: str) -> list[date]:
    out = []
    for row, text in cells:
        try:
            out.append(datetime.strptime(text, pattern).date())
        except ValueError:
            raise PriceDataError(f"row {row}: {show(text)} does not match date_format {pattern!r}") from None
    return out


def _sorted(dates: Sequence[date], *, allow_descending: bool) -> bool:
    pairs = list(itertools.pairwise(dates))
    return all(a < b for a, b in pairs) or (allow_descending and all(a > b for a, b in pairs))


def read_dates(cells: Cells, *, date_format: str | None = None, allow_descending: bool = True) -> list[date]:
    """Reads a date column, deciding day-first or month-first from all of it (see the module doc).

    Args:
        cells: ``(row, text)`` for every data row, rows numbered as in the file.
        date_format: ``iso``, ``dayfirst``, ``monthfirst``, a strptime pattern
            (it contains ``%``), or ``None`` to decide from the column.
        allow_descending: whether newest-first files count as sorted when
            settling an ambiguous column.

    Returns:
        One date per cell, in the cells' order.

    Raises:
        PriceDataError: naming the rows at fault, or asking for ``date_format``.
    """
    cells = [(row, text.strip()) for row, text in cells]
    if not cells:
        return []
    if date_format is not None:
        return _explicit(cells, date_format.strip())
    kinds: dict[str, list[tuple[int, str]]] = {"ymd": [], "xy": []}
    for row, text in cells:
        if _YMD.fullmatch(text):
            kinds["ymd"].append((row, text))
        elif _XY.fullmatch(text):
            kinds["xy"].append((row, text))
        else:
            raise PriceDataError(f"row {row}: {show(text)} is not a date ({EXPECTED})")
    if kinds["ymd"] and kinds["xy"]:
        (r1, c1), (r2, c2) = kinds["ymd"][0], kinds["xy"][0]
        raise PriceDataError(f"the date column mixes styles: row {r1} has {show(c1)}, row {r2} has {show(c2)}")
    if kinds["ymd"]:
        return _ymd(cells)
    return _day_or_month_first(cells, allow_descending=allow_descending)


def _explicit(cells: Cells, date_format: str) -> list[date]:
    name = date_format.lower()
    if name == "iso":
        return _ymd(cells)
    if name in ("dayfirst", "monthfirst"):
        return _numeric(cells, day_first=name == "dayfirst")
    if "%" in date_format:
        return _strptime(cells, date_format)
    raise PriceDataError(
        f"unknown date_format {show(date_format)}: use iso, dayfirst, monthfirst or a strptime pattern like %d-%b-%Y"
    )


def _day_or_month_first(cells: Cells, *, allow_descending: bool) -> list[date]:
    parts = [(row, text, _XY.fullmatch(text)) for row, text in cells]
    big_a = next(((r, t) for r, t, m in parts if m and int(m.group(1)) > 12), None)
    big_b = next(((r, t) for r, t, m in parts if m and int(m.group(3)) > 12), None)
    if big_a and big_b:
        raise PriceDataError(
            f"the date column is day-first in row {big_a[0]} ({show(big_a[1])}) "
            f"but month-first in row {big_b[0]} ({show(big_b[1])})"
        )
    if big_a:
        return _numeric(cells, day_first=True, why=f" (row {big_a[0]}: {show(big_a[1])} makes the column day-first)")
    if big_b:
        return _numeric(cells, day_first=False, why=f" (row {big_b[0]}: {show(big_b[1])} makes the column month-first)")
    day_first = _numeric(cells, day_first=True)
    month_first = _numeric(cells, day_first=False)
    if day_first == month_first:
        return day_first
    ok_d = _sorted(day_first, allow_descending=allow_descending)
    ok_m = _sorted(month_first, allow_descending=allow_descending)
    if ok_d != ok_m:
        return day_first if ok_d else month_first
    row, text = next((r, t) for (r, t), d, m in zip(cells, day_first, month_first, strict=True) if d != m)
    settled = "both readings are in date order" if ok_d else "neither reading is in date order"
    raise PriceDataError(
        f"ambiguous dates: every value reads day-first or month-first (row {row}: {show(text)}) and {settled}; "
        "send date_format=dayfirst or date_format=monthfirst"
    )


def check_order(rows: Sequence[int], dates: Sequence[date], *, allow_descending: bool) -> bool:
    """Checks that dates are distinct and sorted; returns True when they run newest first.

    Raises:
        PriceDataError: on a repeated date (naming both rows), on newest-first
            dates when not allowed, or naming the rows that break the order.
    """
    first: dict[date, int] = {}
    for row, d in zip(rows, dates, strict=True):
        if d in first:
            raise PriceDataError(f"duplicated date {d.isoformat()} in rows {first[d]} and {row}")
        first[d] = row
    pairs = list(zip(itertools.pairwise(rows), itertools.pairwise(dates), strict=True))
    ups = sum(1 for _, (a, b) in pairs if a < b)
    if pairs and not ups and not allow_descending:
        raise PriceDataError(
            f"dates are not sorted oldest first: they run newest first from row {rows[0]} ({dates[0].isoformat()})"
        )
    descending = allow_descending and len(pairs) - ups > ups
    breaks = [(r, b, p, a) for (p, r), (a, b) in pairs if (a < b) == descending]
    if not breaks:
        return descending
    order = "newest first" if descending else "oldest first"
    listed = "; ".join(f"row {r} ({d.isoformat()}) after row {p} ({e.isoformat()})" for r, d, p, e in breaks[:3])
    more = f" and {len(breaks) - 3} more" if len(breaks) > 3 else ""
    raise PriceDataError(f"dates are not sorted {order}: {listed}{more}")
