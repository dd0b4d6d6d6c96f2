"""Price loading without network: the cache, offline mode, failures, local files (qhybrid.data.prices)."""

from __future__ import annotations

import logging
import os
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qhybrid.data import prices
from qhybrid.data.prices import COLUMNS, cache_file, cache_folder, load_prices
from qhybrid.errors import DataError

BUNDLED = Path(__file__).parent / "data" / "prices" / "stocks_2009_2013.csv"
START, END = "2020-01-01", "2020-02-01"


def yahoo_like(start: str = START, end: str = END, seed: int = 0) -> pd.DataFrame:
    """What yf.download returns for one ticker with multi_level_index=False (its column order)."""
    dates = pd.bdate_range(start, end, inclusive="left", name="Date")
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates))))
    return pd.DataFrame({"Close": close, "High": close * 1.01, "Low": close * 0.99, "Open": close * 1.001,
                         "Volume": rng.integers(1_000, 9_000, len(dates))}, index=dates)


class FakeDownload:
    """Stands in for qhybrid.data.prices._download: counts calls, returns a frame or raises."""

    def __init__(self, result):
        self.result = result
        self.calls: list[tuple] = []

    def __call__(self, ticker, start, end, interval, auto_adjust):
        self.calls.append((ticker, start, end, interval, auto_adjust))
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result.copy()


@pytest.fixture
def fake(monkeypatch):
    def install(result) -> FakeDownload:
        stub = FakeDownload(result)
        monkeypatch.setattr(prices, "_download", stub)
        return stub

    return install


def assert_layout(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == COLUMNS
    assert (frame.dtypes == "float64").all()
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.tz is None
    assert frame.index.name == "Date"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert frame["Close"].notna().all()


# download and cache


def test_a_download_is_cached_and_the_next_call_reads_the_cache(fake, tmp_path):
    stub = fake(yahoo_like())
    first = load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))["AAPL"]
    assert len(stub.calls) == 1 and stub.calls[0] == ("AAPL", START, END, "1d", True)
    assert_layout(first)
    path = cache_file(tmp_path, "AAPL", START, END, "1d", True)
    assert path.name == "AAPL_2020-01-01_2020-02-01_1d_adjusted.csv" and path.is_file()
    again = load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))["AAPL"]
    assert len(stub.calls) == 1
    pd.testing.assert_frame_equal(again, first, check_exact=True, check_freq=False)


def test_offline_with_a_filled_cache_never_downloads(fake, tmp_path):
    fake(yahoo_like())
    filled = load_prices(["AAPL", "MSFT"], START, END, cache_dir=str(tmp_path))
    stub = fake(yahoo_like())
    out = load_prices(["MSFT", "AAPL"], START, END, cache_dir=str(tmp_path), offline=True)
    assert stub.calls == []
    assert list(out) == ["MSFT", "AAPL"]
    pd.testing.assert_frame_equal(out["AAPL"], filled["AAPL"], check_freq=False)


def test_offline_with_an_empty_cache_is_one_data_error(fake, tmp_path):
    stub = fake(yahoo_like())
    with pytest.raises(DataError) as info:
        load_prices(["AAPL"], START, END, cache_dir=str(tmp_path), offline=True)
    message = str(info.value)
    assert "AAPL" in message and "data.offline=true" in message and "data.prices_csv" in message
    assert str(cache_file(tmp_path, "AAPL", START, END, "1d", True)) in message
    assert "\n" not in message and stub.calls == []


def test_an_empty_download_is_a_data_error_naming_the_ticker(fake, tmp_path):
    fake(pd.DataFrame())
    with pytest.raises(DataError) as info:
        load_prices(["NOPE"], START, END, cache_dir=str(tmp_path))
    message = str(info.value)
    assert "no prices for NOPE" in message and "returned nothing" in message and str(tmp_path) in message
    assert "data.prices_csv" in message
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_is_a_data_error(fake, tmp_path):
    fake(ConnectionError("Could not resolve host: query2.finance.yahoo.com"))
    with pytest.raises(DataError) as info:
        load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))
    assert "AAPL" in str(info.value) and "ConnectionError" in str(info.value)


def test_refresh_falls_back_to_the_cache_when_the_download_fails(fake, tmp_path, caplog):
    fake(yahoo_like())
    cached = load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))["AAPL"]
    for failure in (ConnectionError("offline"), pd.DataFrame()):
        stub = fake(failure)
        with caplog.at_level(logging.WARNING, logger="qhybrid"):
            out = load_prices(["AAPL"], START, END, cache_dir=str(tmp_path), refresh=True)["AAPL"]
        assert len(stub.calls) == 1
        pd.testing.assert_frame_equal(out, cached, check_freq=False)
        assert any("cached copy" in r.getMessage() and "AAPL" in r.getMessage() for r in caplog.records)


def test_refresh_downloads_again_and_replaces_the_cache(fake, tmp_path):
    fake(yahoo_like(seed=0))
    load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))
    newer = yahoo_like(seed=1)
    stub = fake(newer)
    out = load_prices(["AAPL"], START, END, cache_dir=str(tmp_path), refresh=True)["AAPL"]
    assert len(stub.calls) == 1
    assert out["Close"].tolist() == newer["Close"].tolist()
    stub = fake(yahoo_like(seed=2))
    assert load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))["AAPL"]["Close"].tolist() == newer["Close"].tolist()
    assert stub.calls == []


def test_the_cache_write_is_atomic(fake, tmp_path, monkeypatch, caplog):
    fake(yahoo_like(seed=0))
    load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))
    path = cache_file(tmp_path, "AAPL", START, END, "1d", True)
    before = path.read_bytes()

    def fail_midway(fd):
        raise OSError(28, "No space left on device")

    # the temp file has been written (not yet synced or renamed) when this fails
    monkeypatch.setattr(os, "fsync", fail_midway)
    stub = fake(yahoo_like(seed=1))
    with caplog.at_level(logging.WARNING, logger="qhybrid"):
        out = load_prices(["AAPL", "MSFT"], START, END, cache_dir=str(tmp_path), refresh=True)
    assert len(stub.calls) == 2 and set(out) == {"AAPL", "MSFT"}
    assert path.read_bytes() == before  # the old cache is untouched, not half-overwritten
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file, no MSFT file
    assert any("could not write the price cache" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()

    def fail_rename(src, dst):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", fail_rename)
    fake(yahoo_like(seed=3))
    load_prices(["MSFT"], START, END, cache_dir=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_corrupt_cache_file_names_the_file_and_says_to_delete_it(fake, tmp_path):
    path = cache_file(tmp_path, "AAPL", START, END, "1d", True)
    path.write_text("Date,Open,High\n2020-01-02,1,2\n")
    stub = fake(yahoo_like())
    with pytest.raises(DataError) as info:
        load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))
    assert str(path) in str(info.value) and "delete" in str(info.value) and stub.calls == []
    path.write_text("Date,Open,High,Low,Close,Volume\nnot a date,1,2,3,4,5\n")
    with pytest.raises(DataError, match="cannot be read"):
        load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))


def test_a_yahoo_frame_is_normalised_and_restricted(fake, tmp_path):
    raw = yahoo_like("2019-12-20", "2020-02-10")
    raw.loc[raw.index[5], "Close"] = np.nan
    raw = pd.concat([raw.iloc[::-1], raw.iloc[[3]]])  # unsorted, one date twice
    raw.index = raw.index.tz_localize("America/New_York")
    raw.columns = pd.MultiIndex.from_product([raw.columns, ["AAPL"]], names=["Price", "Ticker"])
    fake(raw)
    out = load_prices(["AAPL"], START, END, cache_dir=str(tmp_path))["AAPL"]
    assert_layout(out)
    assert out.index[0] == pd.Timestamp("2020-01-01") and out.index[-1] == pd.Timestamp("2020-01-31")


def test_download_dates_start_inclusive_end_exclusive(fake, tmp_path):
    fake(yahoo_like("2020-01-01", "2020-01-10"))
    out = load_prices(["AAPL"], "2020-01-02", "2020-01-08", cache_dir=str(tmp_path))["AAPL"]
    assert out.index[0] == pd.Timestamp("2020-01-02") and out.index[-1] == pd.Timestamp("2020-01-07")


def test_cache_file_names_are_safe_and_distinct(tmp_path):
    names = {t: cache_file(tmp_path, t, None, None, "1h", False) for t in ("^GSPC", "_GSPC", "BRK/B", "BRK_B", "BRK-B")}
    assert all(p.parent == tmp_path for p in names.values())
    assert len({p.name for p in names.values()}) == len(names)
    assert names["BRK-B"].name == "BRK-B_begin_latest_1h_raw.csv"
    assert "/" not in names["BRK/B"].name and "^" not in names["^GSPC"].name


def test_default_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder(None) == tmp_path / "qhybrid" / "prices"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_folder(None) == Path.home() / ".cache" / "qhybrid" / "prices"
    assert cache_folder("~/x") == Path.home() / "x"


def test_the_yfinance_call_is_silent(monkeypatch, capsys):
    """The real _download with a stand-in yfinance that fails the way yfinance 1.7.0 does offline."""
    seen = {}

    def download(tickers, **kwargs):
        seen.update(kwargs, tickers=tickers)
        print("progress noise")
        print("\n1 Failed download:\n['AAPL']: DNSError('Could not resolve host')", file=sys.stderr)
        logging.getLogger("yfinance").error("Failed to get ticker 'AAPL'")
        import warnings

        warnings.warn("inplace is deprecated", DeprecationWarning, stacklevel=1)
        return pd.DataFrame(columns=["Adj Close", "Close", "High", "Low", "Open", "Volume"])

    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(download=download))
    frame = prices._download("AAPL", None, "2021-01-01", "1d", False)
    assert frame.empty
    assert capsys.readouterr() == ("", "")
    assert seen["tickers"] == "AAPL" and seen["period"] == "max" and seen["auto_adjust"] is False
    assert seen["progress"] is False and seen["multi_level_index"] is False and seen["timeout"] > 0
    assert logging.getLogger("yfinance").level == logging.NOTSET


# local files (data.prices_csv)


def test_the_bundled_file_loads_adjusted_and_raw():
    table = pd.read_csv(BUNDLED, parse_dates=["Date"])
    raw = load_prices(["AAPL", "MSFT"], None, None, auto_adjust=False, prices_csv=str(BUNDLED))
    adjusted = load_prices(["AAPL", "MSFT"], None, None, prices_csv=str(BUNDLED))
    for ticker in ("AAPL", "MSFT"):
        rows = table[table["Ticker"] == ticker].set_index("Date")
        for frame in (raw[ticker], adjusted[ticker]):
            assert_layout(frame)
            assert len(frame) == 1047
            assert frame.index[0] == pd.Timestamp("2009-01-02") and frame.index[-1] == pd.Timestamp("2013-03-01")
        assert raw[ticker]["Close"].tolist() == rows["Close"].tolist()
        assert raw[ticker]["Open"].tolist() == rows["Open"].tolist()
        ratio = rows["Adj Close"] / rows["Close"]
        assert adjusted[ticker]["Close"].tolist() == rows["Adj Close"].tolist()
        np.testing.assert_allclose(adjusted[ticker]["Open"], rows["Open"] * ratio, rtol=1e-14)
        np.testing.assert_allclose(adjusted[ticker]["Low"], rows["Low"] * ratio, rtol=1e-14)
        assert adjusted[ticker]["Volume"].tolist() == rows["Volume"].astype(float).tolist()
    # AAPL's 7:1 split (2014) and dividends are in Adj Close: adjusted prices are far below the raw ones
    assert (adjusted["AAPL"]["Close"] < raw["AAPL"]["Close"] / 6).all()


def test_file_dates_start_inclusive_end_exclusive():
    out = load_prices(["MSFT"], "2010-01-04", "2010-01-08", prices_csv=str(BUNDLED))["MSFT"]
    assert [d.strftime("%Y-%m-%d") for d in out.index] == ["2010-01-04", "2010-01-05", "2010-01-06", "2010-01-07"]


def test_a_local_file_never_touches_the_network_or_the_cache(fake, tmp_path):
    stub = fake(yahoo_like())
    load_prices(["AAPL"], "2012-01-01", "2013-01-01", cache_dir=str(tmp_path), prices_csv=str(BUNDLED))
    assert stub.calls == [] and list(tmp_path.iterdir()) == []


def test_a_folder_of_per_ticker_files(tmp_path, caplog):
    table = pd.read_csv(BUNDLED)
    aapl = table[table["Ticker"] == "AAPL"].drop(columns="Ticker")
    aapl.rename(columns={"Date": "timestamp", "Adj Close": "adj_close", "Volume": "VOLUME"}).to_csv(
        tmp_path / "AAPL.csv", index=False)
    msft = table[table["Ticker"] == "MSFT"].drop(columns=["Ticker", "Adj Close"])
    msft.to_csv(tmp_path / "MSFT.csv.gz", index=False)
    with caplog.at_level(logging.INFO, logger="qhybrid"):
        out = load_prices(["MSFT", "AAPL"], "2012-01-01", None, prices_csv=str(tmp_path))
    assert list(out) == ["MSFT", "AAPL"]
    assert_layout(out["AAPL"]) and assert_layout(out["MSFT"])
    assert out["AAPL"]["Close"].iloc[-1] == aapl["Adj Close"].iloc[-1]  # adjusted via its adj_close column
    assert out["MSFT"]["Close"].iloc[-1] == msft["Close"].iloc[-1]  # no Adj Close: taken as adjusted
    assert any("MSFT.csv.gz" in r.getMessage() and "already adjusted" in r.getMessage() for r in caplog.records)
    with pytest.raises(DataError) as info:
        load_prices(["IBM"], None, None, prices_csv=str(tmp_path))
    assert "IBM" in str(info.value) and "AAPL, MSFT" in str(info.value)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "prices.csv"
    pd.DataFrame({"Date": ["2020-01-02"], "Price": [1.0], "Close": [1.0]}).to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        load_prices(["AAPL"], None, None, prices_csv=str(path))
    message = str(info.value)
    assert "Open, High, Low, Volume" in message and "columns found: Date, Price, Close" in message


def test_a_ticker_not_in_the_file_lists_the_files_tickers():
    with pytest.raises(DataError) as info:
        load_prices(["AAPL", "GOOG"], None, None, prices_csv=str(BUNDLED))
    assert "GOOG" in str(info.value) and "AAPL, MSFT" in str(info.value)


def test_a_file_without_a_ticker_column_is_one_series(tmp_path):
    path = tmp_path / "one.csv"
    table = pd.read_csv(BUNDLED)
    table[table["Ticker"] == "MSFT"].drop(columns="Ticker").to_csv(path, index=False)
    assert len(load_prices(["MSFT"], None, None, prices_csv=str(path))["MSFT"]) == 1047
    with pytest.raises(DataError, match="no Ticker column"):
        load_prices(["MSFT", "AAPL"], None, None, prices_csv=str(path))


def test_a_range_outside_the_file_names_the_ticker_and_the_files_range():
    with pytest.raises(DataError) as info:
        load_prices(["AAPL"], "2020-01-01", "2021-01-01", prices_csv=str(BUNDLED))
    message = str(info.value)
    assert "AAPL" in message and "2009-01-02" in message and "2013-03-01" in message
