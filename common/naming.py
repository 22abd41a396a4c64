"""Names shared by training, export and serving."""

from __future__ import annotations

import re


def model_name(ticker: str) -> str:
    """TF Serving model name for a ticker: lower case, other characters to ``_``.

    Leading and trailing underscores are dropped, so ``^BVSP`` serves as
    ``bvsp`` and ``PETR4.SA`` as ``petr4_sa``.
    """
    name = re.sub(r"[^a-z0-9]", "_", ticker.strip().lower()).strip("_")
    if not name:
        raise ValueError(f"ticker {ticker!r} gives an empty model name")
    return name
