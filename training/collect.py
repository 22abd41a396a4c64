"""Daily Close prices: from yfinance (cached), from a user's CSV, or bundled.

yfinance 1.x returns frames with ``(Price, Ticker)`` MultiIndex columns from
``yf.download`` and timezone-aware indexes from ``Ticker.history``; both are
reduced here to one Close series indexed by calendar date. Downloads are cached
as yfinance's own ``to_csv`` layout, so the cache is read back by the same CSV
parser that reads users' files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from common.prices import PriceDataError, PriceSeries, parse_price_csv

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DIR = REPO_ROOT / "data"
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "prices"

Downloader = Callable[..., pd.DataFrame]


# Tickers shipped in data/ (see data/README.md for their provenance).
BUNDLED = {"AAPL": "AAPL.csv", "MSFT": "MSFT.csv", "PETR4.SA": "PETR4.SA.csv", "^BVSP": "BVSP.csv"}


def bundled_path(ticker: str) -> Path | None:
    """Where the repository ships a ticker's prices, if it does."""
    name = BUNDLED.get(ticker.upper())
    return BUNDLED_DIR / name if name else None


def close_from_yfinance(frame: pd.DataFrame, ticker: str) -> pd.Series:
    """Extracts the Close column from a frame shaped as yfinance returns it.

    Handles ``yf.download`` frames (MultiIndex ``(Price, Ticker)`` columns, or
    flat columns with ``multi_level_index=False``) and ``Ticker.history``
    frames (timezone-aware index, extra Dividends/Stock Splits columns).

    Raises:
        PriceDataError: when the frame is empty or has no Close column.
    """
    if frame is None or frame.empty:
        raise PriceDataError(f"no data for ticker {ticker!r} (unknown ticker or empty date range)")
    columns = frame.columns
    if isinstance(columns, pd.MultiIndex):
        level = columns.names.index("Price") if "Price" in columns.names else 0
        if "Close" not in columns.get_level_values(level):
            raise PriceDataError(f"no 'Close' column in the download for {ticker!r}")
        close = frame.xs("Close", axis=1, level=level)
        if isinstance(close, pd.DataFrame):
            if ticker in close.columns:
                close = close[ticker]
            elif close.shape[1] == 1:
                close = close.iloc[:, 0]
            else:
                raise PriceDataError(f"the download holds several tickers but not {ticker!r}")
    else:
        if "Close" not in columns:
            raise PriceDataError(f"no 'Close' column in the download for {ticker!r}")
        close = frame["Close"]
    index = pd.DatetimeIndex(close.index)
    if index.tz is not None:
        # Daily bars are stamped at local midnight; dropping the zone keeps the date.
        index = index.tz_localize(None)
    series = pd.Series(close.to_numpy(dtype="float64"), index=index.normalize(), name="Close")
    series.index.name = "Date"
    return series


def download(
    ticker: str,
    start: date,
    end: date,
    *,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    downloader: Downloader | None = None,
) -> PriceSeries:
    """Downloads adjusted daily prices with yfinance, caching them on disk.

    Args:
        ticker: Yahoo symbol, e.g. ``AAPL`` or ``PETR4.SA``.
        start: first date, inclusive.
        end: last date, inclusive (yfinance's ``end`` is exclusive).
        cache_dir: folder for cached downloads; a second call reads from it.
        downloader: ``yf.download``-compatible callable (tests inject one).

    Raises:
        PriceDataError: unknown ticker, empty download, or unusable data.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", ticker)
    cached = cache_dir / f"{safe}_{start.isoformat()}_{end.isoformat()}.csv"
    if cached.exists():
        logger.info("reading cached prices %s", cached)
        return parse_price_csv(cached.read_text())
    if downloader is None:
        import yfinance as yf

        downloader = yf.download
    logger.info("downloading %s %s..%s with yfinance", ticker, start, end)
    kwargs: dict[str, Any] = {"auto_adjust": True, "progress": False}
    frame = downloader(ticker, start=start.isoformat(), end=(end + timedelta(days=1)).isoformat(), **kwargs)
    close = close_from_yfinance(frame, ticker)
    if close.isna().any():
        raise PriceDataError(f"the download for {ticker!r} has {int(close.isna().sum())} missing Close values")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    frame.to_csv(tmp)
    tmp.replace(cached)
    return parse_price_csv(cached.read_text())


def read_csv(path: Path, *, column: str = "Close") -> PriceSeries:
    """Reads a user's CSV (plain ``Date,Close`` or yfinance's ``to_csv`` layout)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise PriceDataError(f"cannot read {path}: {exc.strerror}") from None
    return parse_price_csv(text, column=column)


def between(series: PriceSeries, start: date, end: date) -> PriceSeries:
    """Keeps the rows dated within ``[start, end]``."""
    if series.dates is None:
        return series
    keep = [i for i, d in enumerate(series.dates) if start <= d <= end]
    return PriceSeries([series.prices[i] for i in keep], [series.dates[i] for i in keep])


def load_prices(
    ticker: str,
    start: date,
    end: date,
    *,
    source: str = "auto",
    csv_path: Path | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
) -> PriceSeries:
    """Loads a ticker's daily Close prices from the chosen source.

    Args:
        source: ``auto`` (bundled file if the repo ships the ticker, else
            yfinance), ``bundled``, ``yfinance`` or ``csv`` (needs ``csv_path``).

    Raises:
        PriceDataError: when the source is missing or its data is unusable.
    """
    if source == "csv" or csv_path is not None:
        if csv_path is None:
            raise PriceDataError("--source csv needs --csv PATH")
        series = read_csv(csv_path)
    elif source == "bundled" or (source == "auto" and bundled_path(ticker) is not None):
        path = bundled_path(ticker)
        if path is None:
            raise PriceDataError(f"no bundled data for {ticker!r} (bundled: {', '.join(BUNDLED)})")
        series = read_csv(path)
    elif source in ("auto", "yfinance"):
        series = download(ticker, start, end, cache_dir=cache_dir)
    else:
        raise PriceDataError(f"unknown source {source!r}")
    series = between(series, start, end)
    if not series.prices:
        raise PriceDataError(f"no prices for {ticker!r} between {start} and {end}")
    return series
