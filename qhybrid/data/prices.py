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
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from qhybrid.data.dataset import shown_names
from qhybrid.data.checks import FLOAT32_MAX
from qhybrid.errors import DataError, QHybridError
from qhybrid.io import write_text

log = logging.getLogger("qhybrid")

COLUMNS = ["Open", "High", "Low", "Close", "Volume"]
DOWNLOAD_TIMEOUT_S = 10  # per HTTP request; yfinance makes a handful per ticker

NO_DATA_FIX = ("run once with network to fill the cache, give a local OHLCV file with data.prices_csv=<file.csv>, "
               "or use data.offline=true with a filled cache")

# column names in a user's file, compared lower-case without spaces, underscores or dashes
_ALIASES = {
    "date": "Date", "datetime": "Date", "timestamp": "Date",
    "open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume",
    "adjclose": "Adj Close", "ticker": "Ticker", "symbol": "Ticker",
}
_REQUIRED = ["Date", *COLUMNS]
# a cached price reads back bit for bit: pandas 3 parses floats exactly by default (and deprecates the option)
_EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


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
    bounds = _bound("start", start), _bound("end", end)
    if prices_csv is not None:
        return _from_local_file(Path(prices_csv).expanduser(), tickers, bounds, auto_adjust)
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
    return folder / ("_".join(_safe_name(str(p)) for p in parts) + ".csv")


def _safe_name(text: str) -> str:
    # percent-encoding rather than "_" so that ^GSPC and _GSPC (or BRK/B and BRK_B) stay apart
    return quote(text.strip(), safe="-.=+")


def _span(start: str | None, end: str | None) -> str:
    return f"{start or 'begin'}..{end or 'latest'}"


def _bound(key: str, value: str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(str(value))
    except (ValueError, TypeError):
        raise DataError(f"data.{key}={value!r} is not a date", f"write data.{key}=YYYY-MM-DD") from None


# normalising any source to the one frame layout


def _tz_naive(index: pd.Index) -> pd.DatetimeIndex:
    """Dates as a tz-naive DatetimeIndex; intraday bars keep the exchange's wall-clock time."""
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(index))
    except (ValueError, TypeError):
        # mixed UTC offsets (a file spanning a daylight-saving change) only parse as UTC; such bars read in UTC
        dates = pd.DatetimeIndex(pd.to_datetime(index, utc=True))
    return dates.tz_localize(None) if dates.tz is not None else dates


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Select and type the OHLCV columns, drop rows without a Close or a date, sort, keep the last of duplicate dates."""
    out = frame[COLUMNS].apply(pd.to_numeric, errors="coerce").astype("float64")
    out.index = _tz_naive(out.index)
    out.index.name = "Date"
    out.columns.name = None
    out = out[out["Close"].notna().to_numpy() & out.index.notna()].sort_index(kind="stable")
    return out[~out.index.duplicated(keep="last")]


def _restrict(frame: pd.DataFrame, bounds: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> pd.DataFrame:
    start, end = bounds
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= frame.index >= start
    if end is not None:
        keep &= frame.index < end
    return frame[keep]


def _adjusted(frame: pd.DataFrame) -> pd.DataFrame:
    """What yfinance's auto_adjust does: scale Open/High/Low by Adj Close / Close, Close becomes Adj Close."""
    out = frame.copy()
    ratio = out["Adj Close"] / out["Close"]
    for column in ("Open", "High", "Low"):
        out[column] = out[column] * ratio
    out["Close"] = out["Adj Close"]
    return out


# a local file or folder (data.prices_csv)


def _shown(names) -> str:
    return shown_names(names, limit=20)


def _read_table(path: Path) -> pd.DataFrame:
    """A user's OHLCV file with its columns renamed to the standard names (matched loosely)."""
    from qhybrid.data.table import read_table

    frame = read_table(str(path), "data.prices_csv", header=True, sep=",", sep_key=None,
                       text_columns=("Ticker",)).frame
    found = [str(c) for c in frame.columns]
    matches: dict[str, list[str]] = {}
    for name in found:
        standard = _ALIASES.get(re.sub(r"[\s_\-]", "", name).lower())
        if standard is not None:
            matches.setdefault(standard, []).append(name)
    twice = {standard: names for standard, names in matches.items() if len(names) > 1}
    if twice:
        standard, names = next(iter(twice.items()))
        raise DataError(f"data.prices_csv: {path} has {len(names)} columns for {standard}: {_shown(names)}",
                        "keep one of them (or rename the others)")
    missing = [c for c in _REQUIRED if c not in matches]
    if missing:
        raise DataError(f"data.prices_csv: {path} has no column {', '.join(missing)} (columns found: {_shown(found)})",
                        "give a file with the columns Date, Open, High, Low, Close, Volume (optional: Adj Close, "
                        "Ticker)")
    renames = {names[0]: standard for standard, names in matches.items()}
    return frame[list(renames)].rename(columns=renames)


def _indexed_by_date(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    text = frame["Date"]
    try:
        dates = _tz_naive(pd.Index(text))
    except (ValueError, TypeError):
        dates = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", utc=True)).tz_localize(None)
        bad = text[dates.isna() & text.notna().to_numpy()]
        example = f": {bad.iloc[0]!r}" if len(bad) else ""
        raise DataError(f"data.prices_csv: the Date column of {path} has values that are not dates{example}",
                        "write dates as YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS)") from None
    return frame.drop(columns="Date").set_axis(dates, axis=0)


def _ticker_rows(frame: pd.DataFrame, ticker: str, path: Path) -> pd.DataFrame:
    """The rows of `ticker` (case-insensitive) when the file has a Ticker column, else the whole file."""
    if "Ticker" not in frame.columns:
        return frame
    symbols = frame["Ticker"].astype(str).str.strip().str.upper()
    rows = frame[(symbols == ticker.strip().upper()).to_numpy()]
    if rows.empty:
        raise DataError(f"data.prices_csv: {path} has no rows for {ticker} (its tickers: {_shown(symbols.unique())})",
                        "list tickers the file has in data.tickers, or give a file with this ticker")
    return rows


def _close_column(rows: pd.DataFrame, auto_adjust: bool) -> str:
    """The column that becomes Close: Adj Close when adjusting and the file has it."""
    return "Adj Close" if auto_adjust and "Adj Close" in rows.columns else "Close"


def _refuse_text_prices(raw: pd.Series, numbers: pd.Series, ticker: str, path: Path, column: str) -> None:
    """A Close cell that is not empty and not a number would silently drop its day."""
    text = (raw.notna() & raw.astype("string").str.strip().ne("") & numbers.isna()).to_numpy(dtype=bool)
    if text.any():
        days = _dates_listing(raw.index[text])
        raise DataError(f"data.prices_csv: {path}: the {column} of {ticker} is {str(raw[text].iloc[0])!r} on {days}, "
                        "not a number", "write prices as plain numbers (1234.5, no thousands separator); leave a day "
                        "without a price empty")


def _refuse_duplicate_days(rows: pd.DataFrame, ticker: str, path: Path, column: str) -> None:
    """Two rows of one ticker on one day with different prices: two series mixed (a missing Ticker column?)."""
    repeated = rows.index.duplicated(keep=False) & rows.index.notna()
    if not repeated.any():
        return
    differ = rows[repeated].groupby(level=0)[column].nunique(dropna=True) > 1
    if differ.any():
        raise DataError(f"data.prices_csv: {path} has rows of {ticker} with different {column} prices on the same "
                        f"day: {_dates_listing(differ.index[differ.to_numpy()])}",
                        "keep one row per day and ticker (does the file mix tickers without a Ticker column?)")


def _prices_from_table(frame: pd.DataFrame, ticker: str, path: Path,
                       bounds: tuple[pd.Timestamp | None, pd.Timestamp | None], auto_adjust: bool) -> pd.DataFrame:
    rows = _ticker_rows(frame, ticker, path)
    numeric = [c for c in (*COLUMNS, "Adj Close") if c in rows.columns]
    close = _close_column(rows, auto_adjust)
    raw_close = rows[close]
    rows = rows[numeric].apply(pd.to_numeric, errors="coerce")
    _refuse_text_prices(raw_close, rows[close], ticker, path, close)
    _refuse_duplicate_days(rows, ticker, path, close)
    if auto_adjust and "Adj Close" in rows.columns:
        rows = _adjusted(rows)
    prices = _clean(rows)
    if prices.empty:
        raise DataError(f"data.prices_csv: {path} has no row with a Close price for {ticker}",
                        "give a file with numeric Close prices")
    chosen = _restrict(prices, bounds)
    if chosen.empty:
        first, last = prices.index[0].date(), prices.index[-1].date()
        start, end = (None if b is None else str(b.date()) for b in bounds)
        raise DataError(f"data.prices_csv: {path} has no prices for {ticker} in {_span(start, end)} "
                        f"(its {ticker} prices run from {first} to {last})",
                        "choose data.start and data.end inside that range (the end is exclusive)")
    check_prices(chosen, f"data.prices_csv: {path}: the {close} of {ticker}",
                 "correct or delete those rows of the file")
    return chosen


def _dates_listing(dates, limit: int = 3) -> str:
    stamps = [pd.Timestamp(d) for d in list(dates)[:limit]]
    shown = [str(t.date()) if t == t.normalize() else str(t) for t in stamps]
    more = f", ... ({len(dates)} days in all)" if len(dates) > limit else ""
    return ", ".join(shown) + more


def check_prices(prices: pd.DataFrame, what: str, fix: str) -> None:
    """Every Close a positive number within the float32 range: a zero or negative price makes an
    infinite or undefined log return, which would silently remove its windows from the samples."""
    close = prices["Close"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~(close > 0) | (close > FLOAT32_MAX)
    if bad.any():
        first = close[bad][0]
        raise DataError(f"{what} is {first:g} on {_dates_listing(prices.index[bad])}: a price must be positive and "
                        f"finite (its log return would be {'infinite' if first == 0 else 'undefined'})", fix)


def _say_taken_as_adjusted(frame: pd.DataFrame, path: Path, auto_adjust: bool) -> None:
    if auto_adjust and "Adj Close" not in frame.columns:
        log.info("data.prices_csv: %s has no Adj Close column; its prices are taken as already adjusted", path)


def _folder_file(folder: Path, ticker: str) -> Path:
    for name in dict.fromkeys([ticker, ticker.upper(), _safe_name(ticker)]):
        for suffix in (".csv", ".csv.gz"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    have = sorted(p.name.removesuffix(".gz").removesuffix(".csv") for p in folder.iterdir()
                  if p.name.endswith((".csv", ".csv.gz")))
    raise DataError(f"data.prices_csv: the folder {folder} has no {ticker}.csv or {ticker}.csv.gz "
                    f"(tickers it has: {_shown(have) or 'none'})",
                    "add the file, or list tickers the folder has in data.tickers")


def _from_local_file(path: Path, tickers: list[str], bounds: tuple[pd.Timestamp | None, pd.Timestamp | None],
                     auto_adjust: bool) -> dict[str, pd.DataFrame]:
    shown = path.resolve()
    if path.is_dir():
        out = {}
        for ticker in tickers:
            file = _folder_file(path, ticker)
            frame = _indexed_by_date(_read_table(file), file.resolve())
            _say_taken_as_adjusted(frame, file.resolve(), auto_adjust)
            out[ticker] = _prices_from_table(frame, ticker, file.resolve(), bounds, auto_adjust)
        return out
    if not path.is_file():
        raise DataError(f"data.prices_csv: no such file or folder: {shown}", "check the path")
    frame = _indexed_by_date(_read_table(path), shown)
    if "Ticker" not in frame.columns and len(tickers) > 1:
        raise DataError(f"data.prices_csv: {shown} has no Ticker column, so it holds one series, "
                        f"but {len(tickers)} tickers are requested ({_shown(tickers)})",
                        "add a Ticker column, give a folder of <TICKER>.csv files, or request one ticker")
    _say_taken_as_adjusted(frame, shown, auto_adjust)
    return {ticker: _prices_from_table(frame, ticker, shown, bounds, auto_adjust) for ticker in tickers}


# the cache and the download


def _read_cache(path: Path, ticker: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, index_col=0, **_EXACT_FLOATS)
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"no column {', '.join(missing)}")
        prices = _clean(frame)
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
        import yfinance as yf  # slow to import: only when a download is needed
    except ImportError:
        raise DataError("downloading prices needs the yfinance package, which is not installed",
                        "pip install yfinance, or give a local OHLCV file with data.prices_csv=<file.csv>") from None
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
        first = (str(err).strip().splitlines() or [""])[0][:200]
        return None, f"the download failed ({type(err).__name__}{': ' + first if first else ''})"
    raw = _single_level(raw)
    if raw.empty:
        return None, "the download returned nothing (no network, rate limit, or an unknown ticker)"
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        return None, f"the download has no column {', '.join(missing)} (columns: {_shown(raw.columns)})"
    prices = _restrict(_clean(raw), bounds)
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
    bounds = _bound("start", start), _bound("end", end)
    if path.exists() and not refresh:
        return _checked(_restrict(_read_cache(path, ticker), bounds), ticker, f"the price cache file {path}")
    if offline:
        raise DataError(f"no prices for {ticker} ({_span(start, end)}, {interval}): data.offline=true and there is "
                        f"no cache file {path}", "run once without data.offline (with network) to fill the cache, "
                        "or give a local OHLCV file with data.prices_csv=<file.csv>")
    # debug only: on failure the user sees nothing but the one error line
    log.debug("downloading %s prices (%s, %s) with yfinance", ticker, _span(start, end), interval)
    prices, reason = _downloaded(ticker, start, end, interval, auto_adjust, bounds)
    if prices is not None:
        _checked(prices, ticker, "yfinance's download")
        _write_cache(path, prices)
        log.info("downloaded %s prices (%s, %s) with yfinance; cached in %s", ticker, _span(start, end), interval,
                 path)
        return prices
    if path.exists():
        log.warning("%s: %s; using the cached copy %s", ticker, reason, path)
        return _checked(_restrict(_read_cache(path, ticker), bounds), ticker, f"the price cache file {path}")
    raise DataError(f"no prices for {ticker} ({_span(start, end)}, {interval}): {reason} and there is no cached "
                    f"copy in {folder}", NO_DATA_FIX)
