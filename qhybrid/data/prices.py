"""OHLCV prices per ticker: from a local file, from qhybrid's own cache, or downloaded with yfinance.

yfinance keeps no copy of what it downloads, and when Yahoo cannot be reached (no network, rate
limit) it returns an empty frame instead of raising. qhybrid therefore keeps every successful
download in a cache folder (one CSV per ticker and request, written atomically) and turns "no data"
into one DataError that names the ticker and the ways out: network, a local file
(data.prices_csv) or the cache (data.offline=true).

Every frame handed back has a tz-naive DatetimeIndex named ``Date`` (sorted, no duplicates),
float64 columns ``Open, High, Low, Close, Volume``, no row without a Close, a Close that is
positive and within the float32 range on every row (a zero or negative price would make an
infinite log return), and only the dates start <= date < end (end exclusive, as in yfinance).
A local file is refused, naming the ticker and day, when its Close holds text, or two rows of a
ticker give one day different prices, rather than silently losing or mixing rows.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from qhybrid.data.price_files import from_local_file
from qhybrid.data.price_frames import (
    COLUMNS,
    EXACT_FLOATS,
    bound,
    check_prices,
    clean,
    restrict,
    safe_name,
    listed,
    span,
)
from qhybrid.errors import DataError, QHybridError, first_line
from qhybrid.io import write_text

log = logging.getLogger("qhybrid")

DOWNLOAD_TIMEOUT_S = 10  # per HTTP request; yfinance makes a handful per ticker

NO_DATA_FIX = ("run once with network to fill the cache, give a local OHLCV file with data.prices_csv=<file.csv>, "
               "or use data.offline=true with a filled cache")


def load_prices(tickers: list[str], start: str | None, end: str | None, interval: str = "1d", auto_adjust: bool = True,
                cache_dir: str | None = None, offline: bool = False, prices_csv: str | None = None,
                refresh: bool = False) -> dict[str, pd.DataFrame]:
    """{ticker: OHLCV frame} in the order of `tickers`.

    With `prices_csv` (a file, or a folder of <TICKER>.csv / <TICKER>.csv.gz) the prices come from
    there and neither the network nor the cache is touched; `interval` is then whatever the file
    holds. Otherwise each ticker is read from the cache when it has this exact request (unless
    `refresh`), else downloaded (never when `offline`) and cached. An open end (None) is cached as
    "latest" and not updated until a run with refresh=true.
    """
    bounds = bound("start", start), bound("end", end)
    if prices_csv is not None:
        return from_local_file(Path(prices_csv).expanduser(), tickers, bounds, auto_adjust)
    folder = cache_folder(cache_dir)
    return {ticker: _cached_or_downloaded(ticker, start, end, interval, auto_adjust, folder, offline, refresh)
            for ticker in tickers}


def cache_folder(cache_dir: str | None = None) -> Path:
    """`cache_dir`, or $XDG_CACHE_HOME/qhybrid/prices, or ~/.cache/qhybrid/prices."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qhybrid" / "prices"


def cache_file(folder: Path, ticker: str, start: str | None, end: str | None, interval: str,
               auto_adjust: bool) -> Path:
    """<TICKER>_<start|begin>_<end|latest>_<interval>_<adjusted|raw>.csv, every part file-name safe."""
    parts = [ticker, start or "begin", end or "latest", interval, "adjusted" if auto_adjust else "raw"]
    return folder / ("_".join(safe_name(str(p)) for p in parts) + ".csv")


# normalising any source to the one frame layout


# a local file or folder (data.prices_csv)


# the cache and the download


def _read_cache(path: Path, ticker: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, index_col=0, **EXACT_FLOATS)
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"no column {', '.join(missing)}")
        prices = clean(frame)
        if prices.empty:
            raise ValueError("no price rows")
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, OSError, pd.errors.ParserError) as err:
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise DataError(f"the price cache file {path} for {ticker} cannot be read ({reason})",
                        "delete that file and run again with network to download the prices afresh") from None
    return prices


@contextlib.contextmanager
def _quiet_yfinance() -> Iterator[None]:
    """Hide yfinance's own failure reports ("1 Failed download: ...", pandas warnings): the user gets
    qhybrid's one line instead."""
    logger = logging.getLogger("yfinance")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _single_level(frame: pd.DataFrame) -> pd.DataFrame:
    """Price columns as one level (older yfinance returns (Price, Ticker) pairs even for one ticker)."""
    if not isinstance(frame.columns, pd.MultiIndex):
        return frame
    for level in range(frame.columns.nlevels):
        names = frame.columns.get_level_values(level)
        if "Close" in names:
            return frame.set_axis(names, axis=1)
    return frame


def _download(ticker: str, start: str | None, end: str | None, interval: str, auto_adjust: bool) -> pd.DataFrame:
    """One ticker from Yahoo via yfinance, as yfinance returns it (empty when Yahoo cannot be reached)."""
    try:
        # lazy: slow to import, only a download needs it, and tests/test_prices.py stubs sys.modules['yfinance']
        import yfinance as yf
    except ImportError:
        raise DataError("downloading prices needs the yfinance package, which is not installed",
                        "pip install 'qhybrid[finance]', or give a local OHLCV file with data.prices_csv=<file.csv>") from None
    # without a start yfinance fetches only the last month; an open start means all the history there is
    period = {"period": "max"} if start is None else {}
    with _quiet_yfinance():
        frame = yf.download(ticker, start=start, end=end, interval=interval, auto_adjust=auto_adjust, progress=False,
                            threads=False, multi_level_index=False, timeout=DOWNLOAD_TIMEOUT_S, **period)
    return pd.DataFrame() if frame is None else frame


def _downloaded(ticker: str, start: str | None, end: str | None, interval: str, auto_adjust: bool,
                bounds: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> tuple[pd.DataFrame | None, str]:
    """(prices, "") or (None, why not)."""
    try:
        raw = _download(ticker, start, end, interval, auto_adjust)
    except QHybridError:
        raise
    except Exception as err:  # noqa: BLE001 -- any failure inside yfinance is "no data" here; the reason is shown
        return None, f"the download failed ({first_line(err, 200, typed=True)})"
    raw = _single_level(raw)
    if raw.empty:
        return None, "the download returned nothing (no network, rate limit, or an unknown ticker)"
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        return None, f"the download has no column {', '.join(missing)} (columns: {listed(raw.columns)})"
    prices = restrict(clean(raw), bounds)
    if prices.empty:
        return None, "the download returned no prices in that range"
    return prices, ""


def _write_cache(path: Path, prices: pd.DataFrame) -> None:
    # atomic (temp file + os.replace): a killed run never leaves a half-written cache file
    try:
        write_text(path, prices.to_csv())
    except OSError as err:
        log.warning("could not write the price cache %s (%s); continuing without it", path, err)


def _checked(prices: pd.DataFrame, ticker: str, source: str) -> pd.DataFrame:
    check_prices(prices, f"the Close of {ticker} in {source}",
                 "choose data.start after those days, or give corrected prices with data.prices_csv=<file.csv>")
    return prices


def _cached_or_downloaded(ticker: str, start: str | None, end: str | None, interval: str, auto_adjust: bool,
                          folder: Path, offline: bool, refresh: bool) -> pd.DataFrame:
    path = cache_file(folder, ticker, start, end, interval, auto_adjust)
    bounds = bound("start", start), bound("end", end)
    if path.exists() and not refresh:
        return _checked(restrict(_read_cache(path, ticker), bounds), ticker, f"the price cache file {path}")
    if offline:
        raise DataError(f"no prices for {ticker} ({span(start, end)}, {interval}): data.offline=true and there is "
                        f"no cache file {path}", "run once without data.offline (with network) to fill the cache, "
                        "or give a local OHLCV file with data.prices_csv=<file.csv>")
    # debug only: on failure the user sees nothing but the one error line
    log.debug("downloading %s prices (%s, %s) with yfinance", ticker, span(start, end), interval)
    prices, reason = _downloaded(ticker, start, end, interval, auto_adjust, bounds)
    if prices is not None:
        _checked(prices, ticker, "yfinance's download")
        _write_cache(path, prices)
        log.info("downloaded %s prices (%s, %s) with yfinance; cached in %s", ticker, span(start, end), interval,
                 path)
        return prices
    if path.exists():
        log.warning("%s: %s; using the cached copy %s", ticker, reason, path)
        return _checked(restrict(_read_cache(path, ticker), bounds), ticker, f"the price cache file {path}")
    raise DataError(f"no prices for {ticker} ({span(start, end)}, {interval}): {reason} and there is no cached "
                    f"copy in {folder}", NO_DATA_FIX)
