from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yfinance as yf

from common.prices import PriceDataError
from tests.training.yahoo import history_frame
from training.collect import close_from_yfinance, download, load_prices

START, END = date(2014, 1, 1), date(2015, 3, 31)


@pytest.fixture
def yahoo(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Serves Ticker.history from bundled prices; records each call."""
    calls: list[dict[str, Any]] = []

    def history(self: yf.Ticker, **kwargs: Any) -> pd.DataFrame:
        calls.append({"ticker": self.ticker, **kwargs})
        if self.ticker == "NOSUCH":
            return pd.DataFrame()
        frame = history_frame("AAPL", rows=400)
        start, end = pd.Timestamp(kwargs["start"], tz=frame.index.tz), pd.Timestamp(kwargs["end"], tz=frame.index.tz)
        return frame[(frame.index >= start) & (frame.index < end)]

    monkeypatch.setattr(yf.Ticker, "history", history)
    return calls


def test_real_download_shape_is_multiindex_and_zone_free(yahoo: list[dict[str, Any]]) -> None:
    frame = yf.download("AAPL", start="2014-01-01", end="2014-02-01", auto_adjust=True, progress=False)
    assert isinstance(frame.columns, pd.MultiIndex)
    assert list(frame.columns.names) == ["Price", "Ticker"]
    close = close_from_yfinance(frame, "AAPL")
    assert close.index[0] == pd.Timestamp("2014-01-02")
    assert close.iloc[0] == pytest.approx(17.14066505432129)
    assert close.index.tz is None


def test_history_frame_with_timezone_keeps_calendar_dates() -> None:
    frame = history_frame("PETR4.SA", rows=5, tz="America/Sao_Paulo")
    close = close_from_yfinance(frame, "PETR4.SA")
    assert [d.date() for d in close.index] == [date(2014, 1, d) for d in (2, 3, 6, 7, 8)]


def test_flat_columns_from_multi_level_index_false(yahoo: list[dict[str, Any]]) -> None:
    frame = yf.download("AAPL", start="2014-01-01", end="2014-02-01", progress=False, multi_level_index=False)
    assert not isinstance(frame.columns, pd.MultiIndex)
    assert close_from_yfinance(frame, "AAPL").iloc[1] == pytest.approx(16.7641544342041)


def test_download_is_cached_and_second_call_needs_no_network(yahoo: list[dict[str, Any]], tmp_path: Path) -> None:
    first = download("AAPL", START, END, cache_dir=tmp_path)
    assert len(yahoo) == 1
    # yfinance's end is exclusive: the inclusive END must be asked as END + 1 day.
    assert yahoo[0]["end"] == "2015-04-01" and yahoo[0]["auto_adjust"] is True
    cached = list(tmp_path.glob("*.csv"))
    assert len(cached) == 1 and cached[0].read_text().startswith("Price,Close")
    second = download("AAPL", START, END, cache_dir=tmp_path)
    assert len(yahoo) == 1
    assert second == first
    assert first.dates is not None and first.dates[-1] == date(2015, 3, 31)


def test_unknown_ticker_is_a_clear_error(yahoo: list[dict[str, Any]], tmp_path: Path) -> None:
    with pytest.raises(PriceDataError, match="no data for ticker 'NOSUCH'"):
        download("NOSUCH", START, END, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.csv"))


def test_missing_close_column() -> None:
    frame = history_frame(rows=3).drop(columns=["Close"])
    with pytest.raises(PriceDataError, match="no 'Close' column"):
        close_from_yfinance(frame, "AAPL")


def test_nan_in_download_is_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    frame = history_frame(rows=10)
    frame.iloc[4, frame.columns.get_loc("Close")] = float("nan")
    monkeypatch.setattr(yf.Ticker, "history", lambda self, **kw: frame)
    with pytest.raises(PriceDataError, match="1 missing Close"):
        download("AAPL", START, END, cache_dir=tmp_path)


def test_auto_source_uses_bundled_data_offline() -> None:
    series = load_prices("^BVSP", date(2014, 1, 1), date(2024, 12, 31))
    assert len(series) == 2727
    assert series.prices[0] == 50341.0


def test_date_range_filter() -> None:
    series = load_prices("AAPL", date(2024, 1, 1), date(2024, 12, 31))
    assert series.dates is not None
    assert series.dates[0] == date(2024, 1, 2) and series.dates[-1] == date(2024, 12, 31)


def test_csv_source(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("Date,Close\n2020-01-02,1\n2020-01-03,2\n")
    series = load_prices("ANY", date(2014, 1, 1), date(2024, 12, 31), source="csv", csv_path=path)
    assert series.prices == [1.0, 2.0]


def test_unknown_bundled_ticker() -> None:
    with pytest.raises(PriceDataError, match="no bundled data for 'ZZZ'"):
        load_prices("ZZZ", START, END, source="bundled")
