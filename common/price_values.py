"""Price values: the error type, the usable range, and number cells with either decimal mark.

Stdlib only (the facade's request path imports it). ``common.prices`` re-exports
everything here; import from there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

# The models compute in float32. Below float32's smallest normal number a price
# becomes subnormal or zero there (1e-40 passed a float64 check and then failed
# the graph). The upper bound is far inside float32's range (3.4e38) on purpose:
# the graph divides by the training range and differences the window, and a
# price near float32's maximum overflows there into an infinite forecast.
# 1e15 is nine orders of magnitude above any quoted share or index price.
MIN_PRICE = 2.0**-126  # 1.1754943508222875e-38, float32's smallest normal number
MAX_PRICE = 1e15

_GROUP_CHARS = " \u00a0\u202f\u2009'"  # spaces, no-break and thin spaces, apostrophes


def _number_pattern(decimal: str, grouping: str) -> re.Pattern[str]:
    g, d = re.escape(grouping + _GROUP_CHARS), re.escape(decimal)
    exp = r"(?:[eE][+-]?[0-9]+)?"
    # Grouped thousands must come in threes: "1.234.567,8" but not "12.5.6".
    return re.compile(rf"[+-]?(?:[0-9]{{1,3}}(?:[{g}][0-9]{{3}})+|[0-9]+)(?:{d}[0-9]*)?{exp}|[+-]?{d}[0-9]+{exp}")


_NUMBER = {".": _number_pattern(".", ","), ",": _number_pattern(",", ".")}
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
# Thousands separators spreadsheets write besides '.' and ',': spaces, no-break and thin spaces, apostrophes.
_GROUPING = str.maketrans("", "", _GROUP_CHARS)
# A currency sign before or after the number, as in Nasdaq's exports ("$234.93") or "R$ 38,12".
_CURRENCY = re.compile(r"^(?:[A-Z]{0,3}\$|[€£¥])|(?:[€£¥]|[A-Z]{0,3}\$)$")


class PriceDataError(ValueError):
    """A price series that cannot be used, with a message saying what is wrong and where."""


def show(cell: str, limit: int = 40) -> str:
    """The cell as quoted in messages: ``repr``, cut to ``limit`` characters."""
    return repr(cell) if len(cell) <= limit else repr(cell[:limit]) + f"... ({len(cell)} characters)"


def check_price(value: float) -> float:
    """Checks that one price is finite, positive and inside ``[MIN_PRICE, MAX_PRICE]``.

    Raises:
        PriceDataError: saying which limit the value breaks (no position: callers add it).
    """
    if not math.isfinite(value):
        raise PriceDataError(f"{value} is not a finite number")
    if value <= 0:
        raise PriceDataError(f"{value} is not positive")
    if value < MIN_PRICE:
        raise PriceDataError(f"{value} is below the smallest usable price {MIN_PRICE:.7g} (float32's smallest normal)")
    if value > MAX_PRICE:
        raise PriceDataError(f"{value} is above the largest usable price {MAX_PRICE:g}")
    return value


def validate_prices(prices: Sequence[float], *, what: str = "prices") -> list[float]:
    """Checks that every price is a number that :func:`check_price` accepts.

    Raises:
        PriceDataError: naming the first offending position, e.g. ``prices[3]``.
    """
    out: list[float] = []
    for i, p in enumerate(prices):
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise PriceDataError(f"{what}[{i}] is not a number: {p!r}")
        try:
            out.append(check_price(float(p)))
        except OverflowError:
            raise PriceDataError(f"{what}[{i}] is above the largest usable price {MAX_PRICE:g}") from None
        except PriceDataError as exc:
            raise PriceDataError(f"{what}[{i}]: {exc}") from None
    return out


def _bare(text: str) -> str:
    return _CURRENCY.sub("", text.strip().translate(_GROUPING))


def decimal_mark(cells: Sequence[tuple[int, str]], *, delimiter: str) -> str:
    """Decides a column's decimal mark, ``'.'`` or ``','``, from all its cells.

    A cell holding both marks shows the decimal one last (``1.234,56``); a single
    mark followed by other than three digits is decimal (``17,5``; ``1,234`` could
    be either). With no evidence, ``;`` and tab files use decimal commas (what
    spreadsheets in comma locales write) and ``,`` files decimal points.

    Args:
        cells: ``(row, text)`` pairs of the column.
        delimiter: the file's separator.

    Raises:
        PriceDataError: when some cells say comma and others point, naming one of each.
    """
    seen: dict[str, tuple[int, str]] = {}
    for row, text in cells:
        cell = _bare(text)
        dot, comma = cell.rfind("."), cell.rfind(",")
        if dot >= 0 and comma >= 0:
            mark = "." if dot > comma else ","
        elif dot >= 0 or comma >= 0:
            sep = "." if dot >= 0 else ","
            pos = max(dot, comma)
            if cell.count(sep) > 1:
                mark = "," if sep == "." else "."  # repeated marks group thousands
            elif len(cell) - pos - 1 != 3 or not cell[pos + 1 :].isdigit():
                mark = sep
            else:
                continue
        else:
            continue
        seen.setdefault(mark, (row, text))
        if len(seen) == 2:
            (r1, c1), (r2, c2) = seen["."], seen[","]
            raise PriceDataError(
                f"the column mixes decimal points (row {r1}: {show(c1)}) and decimal commas (row {r2}: {show(c2)})"
            )
    if seen:
        return next(iter(seen))
    return "." if delimiter == "," else ","


def parse_number(text: str, *, decimal: str = ".") -> float:
    """Parses one number cell written with the given decimal mark (the other mark groups thousands).

    Raises:
        PriceDataError: when the cell is not a plain decimal number (no ``1_000``,
            no ``0x10``, no non-ASCII digits) or is NaN/infinity.
    """
    cell = _CURRENCY.sub("", text.strip()).strip()
    if cell.lower() in _NON_FINITE:
        raise PriceDataError(f"{show(text.strip())} is not a finite number")
    if not _NUMBER[decimal].fullmatch(cell):
        raise PriceDataError(f"{show(text.strip())} is not a number")
    grouping = "," if decimal == "." else "."
    cell = cell.translate(_GROUPING).replace(grouping, "").replace(decimal, ".")
    return float(cell)  # a decimal string too large for a float gives inf, which check_price refuses
