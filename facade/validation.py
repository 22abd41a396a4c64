"""Checks on one request's row before it joins a batch, and on its forecast after.

A row the model cannot take (a price outside the usable range of
:mod:`common.price_values`: not finite, not positive, below float32's
smallest normal, or so large the graph overflows) is refused here with a
422 naming the value, so it never reaches a backend batch where it could fail
other clients' rows. JSON bodies are held to the same range by their schema
(:mod:`facade.schemas`); this check is the last one before a batch, whatever
the route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from common.prices import MAX_PRICE, MIN_PRICE
from facade.errors import InvalidInput


def check_window(window: Sequence[float], *, offset: int) -> tuple[float, float]:
    """Refuses a window the float32 model cannot take; returns its lowest and highest price (for drift).

    Args:
        window: the prices the model will see (the request's last ``window``), as Python floats.
        offset: index of ``window[0]`` in the request's prices, so errors name the client's own positions.

    Raises:
        InvalidInput: a price that is not finite, not positive, or outside the usable range.
    """
    # The usual path in plain floats: min, max and sum of 60 prices take about 2 us, NumPy's conversion and two
    # reductions about 3.5. min and max may step over a NaN, so the sum is checked too: a NaN anywhere makes it
    # NaN, and NaN != NaN. An infinity breaks one of the bounds.
    low, high = min(window), max(window)
    total = sum(window)
    if low >= MIN_PRICE and high <= MAX_PRICE and total == total:
        return float(low), float(high)
    raw = np.asarray(window, dtype=np.float64)
    bad = ~np.isfinite(raw) | (raw < MIN_PRICE) | (raw > MAX_PRICE)
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidInput(
            f"prices[{offset + i}] = {raw[i]!r} cannot be used: prices must be finite and between "
            f"{MIN_PRICE:.7g} (float32's smallest normal) and {MAX_PRICE:g}"
        )
    raise AssertionError("unreachable: a window outside the range has a bad price")


def check_forecast(*arrays: npt.NDArray[np.floating[Any]], data_range: tuple[float, float]) -> None:
    """Refuses to answer with a forecast that overflowed (prices far outside what the model knows).

    Args:
        arrays: the forecast and its interval bounds, in price units.
        data_range: the version's training range, for the message.

    Raises:
        InvalidInput: a value is not finite (the graph reports such a row as invalid, with NaN values).
    """
    if not all(np.isfinite(a).all() for a in arrays):
        lo, hi = data_range
        raise InvalidInput(
            "the prices are too far from the model's training range "
            f"({lo:.6g}..{hi:.6g}) to forecast: the result overflows float32"
        )
