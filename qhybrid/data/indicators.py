"""Technical indicators on a series of closing prices, all causal.

Every value at day t is computed from the prices up to and including day t, so a model fed these
features never sees the future. Indicators that need a history (moving averages, volatility, RSI)
are NaN during their warm-up; the caller drops those rows. The input is expected to have no NaN
prices (qhybrid.data.prices drops such rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURE_COLUMNS = ["return", "log_return", "ma10_ratio", "ma50_ratio", "volatility", "rsi",
                   "macd", "macd_signal", "macd_hist"]


def simple_returns(close: pd.Series) -> pd.Series:
    """c_t / c_{t-1} - 1; the first value is NaN."""
    return close.pct_change()


def log_returns(close: pd.Series) -> pd.Series:
    """log(c_t / c_{t-1}); the first value is NaN."""
    return np.log(close / close.shift(1))


def moving_average_ratio(close: pd.Series, window: int) -> pd.Series:
    """The `window`-day simple moving average divided by the close (MA_n / c_t), NaN for the first window-1 days.

    A ratio rather than the average itself, so the feature does not depend on the price level.
    """
    return close.rolling(window, min_periods=window).mean() / close


def rolling_volatility(close: pd.Series, window: int = 20) -> pd.Series:
    """Sample standard deviation (ddof=1) of the log returns over the last `window` days.

    The first return is NaN, so the first value appears at position `window`.
    """
    return log_returns(close).rolling(window, min_periods=window).std(ddof=1)


def _wilder_average(values: pd.Series, period: int) -> pd.Series:
    """Wilder's smoothing: seeded with the simple mean of values[1..period], then
    avg_t = (avg_{t-1} * (period - 1) + x_t) / period.

    values[0] is the NaN change of the first day. An EWM with alpha = 1/period and adjust=False is
    exactly that recursion once it starts from the seed, so the positions before the seed are NaN
    (ewm starts at the first valid value).
    """
    seeded = pd.Series(np.nan, index=values.index, dtype="float64")
    if len(values) <= period:
        return seeded
    seeded.iloc[period] = values.iloc[1:period + 1].mean()
    seeded.iloc[period + 1:] = values.iloc[period + 1:].to_numpy()
    return seeded.ewm(alpha=1.0 / period, adjust=False).mean()


def rsi(close: pd.Series, period: int = 14) -> pd.Series:
    """Wilder's relative strength index (0..100), NaN before position `period`.

    RSI = 100 - 100 / (1 + avg_gain / avg_loss) with Wilder-smoothed gains and losses. A window with
    no losses reads 100; one with neither gains nor losses (a flat price) reads 50.
    """
    change = close.diff()
    avg_gain = _wilder_average(change.clip(lower=0.0), period)
    avg_loss = _wilder_average((-change).clip(lower=0.0), period)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    no_loss = avg_loss == 0.0
    value = value.mask(no_loss & (avg_gain > 0.0), 100.0)
    return value.mask(no_loss & (avg_gain == 0.0), 50.0).rename(close.name)


def _ema(close: pd.Series, span: int) -> pd.Series:
    """Exponential moving average with alpha = 2 / (span + 1), seeded with the first price."""
    return close.ewm(span=span, adjust=False).mean()


def macd(close: pd.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    """MACD line (EMA_fast - EMA_slow), its signal line (EMA of the line) and the histogram (line - signal).

    The EMAs follow the usual convention: ewm(span=n, adjust=False), seeded with the first price
    (the signal EMA with the first MACD value), so there is no NaN warm-up; the first few weeks are
    biased towards the first price, which is why a caller should still skip some history.
    """
    line = _ema(close, fast) - _ema(close, slow)
    signal_line = _ema(line, signal)
    return pd.DataFrame({"macd": line, "signal": signal_line, "hist": line - signal_line}, index=close.index)


def feature_frame(ohlcv: pd.DataFrame, volatility_window: int = 20) -> pd.DataFrame:
    """The model's indicator features, one row per row of `ohlcv` (same index), NaN during warm-up.

    Columns: return, log_return, ma10_ratio, ma50_ratio, volatility, rsi, macd, macd_signal, macd_hist.
    Scaled so that tickers with different price levels can be pooled: `rsi` is divided by 100
    (0..1) and the three MACD columns are divided by the close (a fraction of the price).
    Only the `Close` column is used.
    """
    close = ohlcv["Close"].astype("float64")
    lines = macd(close)
    columns = {
        "return": simple_returns(close),
        "log_return": log_returns(close),
        "ma10_ratio": moving_average_ratio(close, 10),
        "ma50_ratio": moving_average_ratio(close, 50),
        "volatility": rolling_volatility(close, volatility_window),
        "rsi": rsi(close) / 100.0,
        "macd": lines["macd"] / close,
        "macd_signal": lines["signal"] / close,
        "macd_hist": lines["hist"] / close,
    }
    return pd.DataFrame(columns, index=ohlcv.index)[FEATURE_COLUMNS]
