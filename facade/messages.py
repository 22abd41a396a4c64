"""How a refused request is described: pydantic's errors and undecodable bodies as one clear line.

Positions are written as the client wrote them (``prices[3]``, ``steps``),
wrong types quote what was sent (``"5"``, ``true``), and pattern mismatches
say what the field takes instead of quoting the regex.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from common.prices import PriceDataError, check_price
from facade.schemas import PATTERN_HINTS

MAX_PROBLEMS = 10
# pydantic-core's own checks of a price (facade.schemas.Price), reworded as common.prices.check_price words them.
PRICE_LIMITS = frozenset({"greater_than_equal", "less_than_equal", "finite_number"})


def price_problem(value: object, fallback: str) -> str:
    """check_price's sentence for a price pydantic refused on its limits ("0.0 is not positive")."""
    try:
        check_price(float(value))  # type: ignore[arg-type]
    except PriceDataError as exc:
        return str(exc)
    except (TypeError, ValueError, OverflowError):
        pass
    return fallback


def _where(loc: Sequence[object]) -> str:
    """``("body", "prices", 3)`` -> ``prices[3]``: the position as the client wrote it."""
    out = ""
    for i, part in enumerate(loc):
        if i == 0 and part == "body":
            continue
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out or "body"


def _shown(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def describe_validation_errors(errs: Sequence[Mapping[str, Any]]) -> str:
    """pydantic's errors as one line: ``where: what`` for each (the first ten), wrong types with what was sent."""
    problems = []
    for err in errs[:MAX_PROBLEMS]:
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        kind, loc = str(err.get("type", "")), tuple(err.get("loc", ()))
        hint = PATTERN_HINTS.get(str(loc[-1])) if loc else None
        if kind == "json_invalid":
            # FastAPI puts the character offset where the body's position belongs.
            where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
            reason = (err.get("ctx") or {}).get("error")
            problems.append(f"body: {msg}{where}" + (f" ({reason})" if reason else ""))
            continue
        if kind in PRICE_LIMITS and loc and "prices" in loc:
            msg = price_problem(err.get("input"), msg)
        elif kind == "string_pattern_mismatch" and hint:
            msg = f"{_shown(err.get('input'))} is not {hint}"
        elif kind.endswith("_type") and "input" in err:
            msg += f" (got {_shown(err['input'])})"  # e.g. "5" or true where an integer belongs
        problems.append(f"{_where(err.get('loc', ()))}: {msg}")
    more = f"; and {len(errs) - MAX_PROBLEMS} more" if len(errs) > MAX_PROBLEMS else ""
    return "; ".join(problems) + more


def unreadable_json(cause: Exception) -> str:
    """What to tell a client whose JSON body could not even be decoded."""
    if isinstance(cause, UnicodeDecodeError):
        return (
            f"body: not UTF-8 text (byte {cause.start} is {cause.object[cause.start : cause.start + 1]!r}); "
            "send JSON encoded as UTF-8"
        )
    return "body: the JSON nests arrays or objects too deeply"
