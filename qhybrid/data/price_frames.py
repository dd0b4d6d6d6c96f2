"""Price frames in the one shape every source hands back: a tz-naive DatetimeIndex named Date,
float64 OHLCV columns, only the requested dates, a Close that is positive and finite."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pandas as pd

from qhybrid.data.checks import FLOAT32_MAX
from qhybrid.data.dataset import shown_names
from qhybrid.errors import DataError

COLUMNS = ["Open", "High", "Low", "Close", "Volume"]


# a cached price reads back bit for bit: pandas 3 parses floats exactly by default (and deprecates the option)
EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def span(start: str | None, end: str | None) -> str:
    return f"{start or 'begin'}..{end or 'latest'}"


def bound(key: str, value: str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(str(value))
    except (ValueError, TypeError):
        raise DataError(f"data.{key}={value!r} is not a date", f"write data.{key}=YYYY-MM-DD") from None


def tz_naive(index: pd.Index) -> pd.DatetimeIndex:
    """Dates as a tz-naive DatetimeIndex; intraday bars keep the exchange's wall-clock time."""
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(index))
    except (ValueError, TypeError):
        # mixed UTC offsets (a file spanning a daylight-saving change) only parse as UTC; such bars read in UTC
        dates = pd.DatetimeIndex(pd.to_datetime(index, utc=True))
    return dates.tz_localize(None) if dates.tz is not None else dates


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Select and type the OHLCV columns, drop rows without a Close or a date, sort, keep the last of duplicate dates."""
    out = frame[COLUMNS].apply(pd.to_numeric, errors="coerce").astype("float64")
    out.index = tz_naive(out.index)
    out.index.name = "Date"
    out.columns.name = None
    out = out[out["Close"].notna().to_numpy() & out.index.notna()].sort_index(kind="stable")
    return out[~out.index.duplicated(keep="last")]


def restrict(frame: pd.DataFrame, bounds: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> pd.DataFrame:
    start, end = bounds
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= frame.index >= start
    if end is not None:
        keep &= frame.index < end
    return frame[keep]


def adjusted(frame: pd.DataFrame) -> pd.DataFrame:
    """What yfinance's auto_adjust does: scale Open/High/Low by Adj Close / Close, Close becomes Adj Close."""
    out = frame.copy()
    ratio = out["Adj Close"] / out["Close"]
    for column in ("Open", "High", "Low"):
        out[column] = out[column] * ratio
    out["Close"] = out["Adj Close"]
    return out


def listed(names) -> str:
    return shown_names(names, limit=20)


def dates_listing(dates, limit: int = 3) -> str:
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
        raise DataError(f"{what} is {first:g} on {dates_listing(prices.index[bad])}: a price must be positive and "
                        f"finite (its log return would be {'infinite' if first == 0 else 'undefined'})", fix)


def safe_name(text: str) -> str:
    # percent-encoding rather than "_" so that ^GSPC and _GSPC (or BRK/B and BRK_B) stay apart
    return quote(text.strip(), safe="-.=+")
