"""Frames shaped exactly as Yahoo's chart API reaches yfinance, built from bundled real prices.

``Ticker.history`` is the network edge of ``yf.download``: it returns one
frame per ticker with a timezone-aware index at the exchange's local midnight
and Open/High/Low/Close/Volume columns. Patching only that method lets the
tests run yfinance's real ``download`` assembly (MultiIndex columns, zone
removal, sorting) with no network.
"""

from __future__ import annotations

import pandas as pd

from training.collect import bundled_path


def history_frame(ticker: str = "AAPL", rows: int = 300, tz: str = "America/New_York") -> pd.DataFrame:
    path = bundled_path(ticker)
    assert path is not None
    raw = pd.read_csv(path, nrows=rows)
    index = pd.DatetimeIndex(pd.to_datetime(raw["Date"])).tz_localize(tz)
    index.name = "Date"
    frame = raw[["Open", "High", "Low", "Close", "Volume"]].copy()
    frame.index = index
    return frame
