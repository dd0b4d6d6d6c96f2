"""A user's local OHLCV file (data.prices_csv): a file or a folder of per-ticker files, its
columns found by name (aliases such as adj_close or symbol), refused with one line naming the
ticker and day where its prices hold text or one day twice."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from qhybrid.data.price_frames import (
    COLUMNS,
    adjusted,
    check_prices,
    clean,
    dates_listing,
    restrict,
    safe_name,
    listed,
    span,
    tz_naive,
)
from qhybrid.data.table import read_table
from qhybrid.errors import DataError

log = logging.getLogger("qhybrid")


# column names in a user's file, compared lower-case without spaces, underscores or dashes
_ALIASES = {
    "date": "Date", "datetime": "Date", "timestamp": "Date",
    "open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume",
    "adjclose": "Adj Close", "ticker": "Ticker", "symbol": "Ticker",
}
_REQUIRED = ["Date", *COLUMNS]


def _read_table(path: Path) -> pd.DataFrame:
    """A user's OHLCV file with its columns renamed to the standard names (matched loosely)."""
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
        raise DataError(f"data.prices_csv: {path} has {len(names)} columns for {standard}: {listed(names)}",
                        "keep one of them (or rename the others)")
    missing = [c for c in _REQUIRED if c not in matches]
    if missing:
        raise DataError(f"data.prices_csv: {path} has no column {', '.join(missing)} (columns found: {listed(found)})",
                        "give a file with the columns Date, Open, High, Low, Close, Volume (optional: Adj Close, "
                        "Ticker)")
    renames = {names[0]: standard for standard, names in matches.items()}
    return frame[list(renames)].rename(columns=renames)


def _indexed_by_date(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    text = frame["Date"]
    try:
        dates = tz_naive(pd.Index(text))
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
        raise DataError(f"data.prices_csv: {path} has no rows for {ticker} (its tickers: {listed(symbols.unique())})",
                        "list tickers the file has in data.tickers, or give a file with this ticker")
    return rows


def _close_column(rows: pd.DataFrame, auto_adjust: bool) -> str:
    """The column that becomes Close: Adj Close when adjusting and the file has it."""
    return "Adj Close" if auto_adjust and "Adj Close" in rows.columns else "Close"


def _refuse_text_prices(raw: pd.Series, numbers: pd.Series, ticker: str, path: Path, column: str) -> None:
    """A Close cell that is not empty and not a number would silently drop its day."""
    text = (raw.notna() & raw.astype("string").str.strip().ne("") & numbers.isna()).to_numpy(dtype=bool)
    if text.any():
        days = dates_listing(raw.index[text])
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
                        f"day: {dates_listing(differ.index[differ.to_numpy()])}",
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
        rows = adjusted(rows)
    prices = clean(rows)
    if prices.empty:
        raise DataError(f"data.prices_csv: {path} has no row with a Close price for {ticker}",
                        "give a file with numeric Close prices")
    chosen = restrict(prices, bounds)
    if chosen.empty:
        first, last = prices.index[0].date(), prices.index[-1].date()
        start, end = (None if b is None else str(b.date()) for b in bounds)
        raise DataError(f"data.prices_csv: {path} has no prices for {ticker} in {span(start, end)} "
                        f"(its {ticker} prices run from {first} to {last})",
                        "choose data.start and data.end inside that range (the end is exclusive)")
    check_prices(chosen, f"data.prices_csv: {path}: the {close} of {ticker}",
                 "correct or delete those rows of the file")
    return chosen


def _say_taken_as_adjusted(frame: pd.DataFrame, path: Path, auto_adjust: bool) -> None:
    if auto_adjust and "Adj Close" not in frame.columns:
        log.info("data.prices_csv: %s has no Adj Close column; its prices are taken as already adjusted", path)


def _folder_file(folder: Path, ticker: str) -> Path:
    for name in dict.fromkeys([ticker, ticker.upper(), safe_name(ticker)]):
        for suffix in (".csv", ".csv.gz"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    have = sorted(p.name.removesuffix(".gz").removesuffix(".csv") for p in folder.iterdir()
                  if p.name.endswith((".csv", ".csv.gz")))
    raise DataError(f"data.prices_csv: the folder {folder} has no {ticker}.csv or {ticker}.csv.gz "
                    f"(tickers it has: {listed(have) or 'none'})",
                    "add the file, or list tickers the folder has in data.tickers")


def from_local_file(path: Path, tickers: list[str], bounds: tuple[pd.Timestamp | None, pd.Timestamp | None],
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
                        f"but {len(tickers)} tickers are requested ({listed(tickers)})",
                        "add a Ticker column, give a folder of <TICKER>.csv files, or request one ticker")
    _say_taken_as_adjusted(frame, shown, auto_adjust)
    return {ticker: _prices_from_table(frame, ticker, shown, bounds, auto_adjust) for ticker in tickers}
