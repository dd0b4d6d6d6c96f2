"""Prices -> windows of technical indicators -> next-period direction.

For each ticker: the indicators of qhybrid.data.indicators (causal: the value at day t
uses prices up to t); a sample at day t is the last ``seq_length`` days of them (t - L + 1
.. t, flattened oldest first) and its target is the direction of the return from t to
t + 1 (up: the close rises). Tickers pool their samples, ordered by date, so forward CV
splits all of them at the same days. ``Dataset.window`` is the span of one sample in rows
((L + 1) days times the tickers): walk-forward CV keeps at least that gap, so no sample
straddles a train/test boundary. Rows whose next return lies inside the dead zone are kept
for testing (every day is traded) but left out of fitting (``Dataset.fit_mask``).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from qhybrid.data.checks import beyond_float32, counted
from qhybrid.data.dataset import Dataset
from qhybrid.data.indicators import feature_frame
from qhybrid.data.prices import load_prices
from qhybrid.errors import DataError

log = logging.getLogger("qhybrid")

CLASSES = ["down", "up"]  # the positive class (index 1) is "up"


def _refuse_out_of_range(features: pd.DataFrame, ticker: str) -> None:
    """NaN is an indicator's warm-up (those windows are left out); inf or a value beyond float32
    comes from the prices (a zero, a negative or a denormal close) and must not vanish silently."""
    bad = beyond_float32(features.to_numpy(dtype=np.float64))
    if bad.any():
        row, column = np.argwhere(bad)[0]
        days = features.index[bad.any(axis=1)]
        raise DataError(f"{ticker or 'the prices'}: the indicator {features.columns[column]!r} is "
                        f"{features.iat[row, column]:g} on {pd.Timestamp(days[0]).date()} "
                        f"({counted(len(days), 'day')} in all); "
                        "a price near zero or a jump of that size makes it leave the float32 range",
                        "correct the prices of those days (data.prices_csv), or choose data.start after them")


def ticker_samples(ohlcv: pd.DataFrame, seq_length: int, volatility_window: int,
                   with_target: bool = True, ticker: str = "") -> tuple[np.ndarray, pd.DataFrame, list[str]]:
    """One ticker's windows (n, seq_length * n_indicators), a frame of their dates and next
    returns, and the feature names (``<indicator>_t-<lag>``, oldest first). Without
    ``with_target`` the last day (no next close yet: the one to predict) is kept too."""
    features = feature_frame(ohlcv, volatility_window=volatility_window)
    _refuse_out_of_range(features, ticker)
    close = ohlcv["Close"].astype(np.float64)
    next_return = close.shift(-1) / close - 1.0  # the target's return: known only at t + 1
    values = features.to_numpy(dtype=np.float64)
    n_days, n_indicators = values.shape
    names = [f"{name}_t-{lag}" for lag in range(seq_length - 1, -1, -1) for name in features.columns]
    if n_days < seq_length:
        return np.empty((0, seq_length * n_indicators)), pd.DataFrame(columns=["date", "next_return"]), names
    # windows[i] holds days i .. i + L - 1: the sample of day t = i + L - 1
    windows = np.lib.stride_tricks.sliding_window_view(values, seq_length, axis=0)  # (n - L + 1, F, L)
    windows = windows.transpose(0, 2, 1).reshape(len(windows), seq_length * n_indicators)
    days = features.index[seq_length - 1:]
    returns = next_return.to_numpy()[seq_length - 1:]
    # a window touching the indicators' warm-up is no sample; nor, for training, the last day
    keep = np.isfinite(windows).all(axis=1)
    if with_target:
        keep &= np.isfinite(returns)
    meta = pd.DataFrame({"date": days[keep], "next_return": returns[keep]})
    return windows[keep], meta, names


def pooled_samples(prices: dict[str, pd.DataFrame], seq_length: int, volatility_window: int = 20,
                   ticker_feature: bool = False, tickers: list[str] | None = None,
                   with_target: bool = True) -> tuple[np.ndarray, pd.DataFrame, list[str]]:
    """Every ticker's samples, ordered by date, then ticker (``tickers``: the one-hot's order,
    the run's tickers when predicting)."""
    tickers = list(tickers or prices)
    blocks, metas, names = [], [], []
    for ticker, ohlcv in prices.items():
        X, meta, names = ticker_samples(ohlcv, seq_length, volatility_window, with_target, ticker)
        if len(X) == 0:
            raise DataError(f"{ticker}: {len(ohlcv)} price rows give no sample of {seq_length} days once the "
                            "indicators have warmed up (MA50 and MACD need about 50 days first)",
                            "widen data.start..data.end, or lower data.seq_length")
        if ticker_feature and len(tickers) > 1:
            onehot = np.zeros((len(X), len(tickers)))
            onehot[:, tickers.index(ticker)] = 1.0
            X = np.hstack([X, onehot])
            names = names + [f"ticker_{t}" for t in tickers]
        blocks.append(X)
        metas.append(meta.assign(ticker=ticker))
    meta = pd.concat(metas, ignore_index=True)
    X = np.vstack(blocks)
    order = np.lexsort((meta["ticker"].map(tickers.index).to_numpy(), meta["date"].to_numpy()))
    return X[order], meta.iloc[order].reset_index(drop=True)[["date", "ticker", "next_return"]], names


def build_finance_dataset(prices: dict[str, pd.DataFrame], seq_length: int, volatility_window: int = 20,
                          dead_zone: float = 0.0, ticker_feature: bool = False) -> Dataset:
    """Pool the tickers' samples (ordered by date, then ticker) into one time-ordered data set."""
    X, meta, names = pooled_samples(prices, seq_length, volatility_window, ticker_feature)
    next_return = meta["next_return"].to_numpy()
    y = (next_return > 0).astype(np.int64)
    fit_mask = np.abs(next_return) >= dead_zone if dead_zone > 0 else None
    if fit_mask is not None:
        log.info("data.dead_zone=%g: %d of %d rows (|next return| below it) are not used for fitting",
                 dead_zone, int((~fit_mask).sum()), len(fit_mask))
    return Dataset(name="finance", X=X, y=y, classes=list(CLASSES), feature_names=names, time_ordered=True,
                   window=(seq_length + 1) * len(prices), meta=meta, fit_mask=fit_mask)


def prediction_table(data_config: dict, prices_file: str) -> pd.DataFrame:
    """``qhybrid predict`` on a prices file for a finance run: the run's windows of its
    indicators for every day of the file (the last day included: the call for the next day),
    with date, ticker and the next return where it is known."""
    tickers = list(data_config["tickers"])
    prices = load_prices(tickers, None, None, auto_adjust=bool(data_config.get("auto_adjust", True)),
                         prices_csv=prices_file)
    X, meta, names = pooled_samples(prices, int(data_config["seq_length"]),
                                    int(data_config.get("volatility_window", 20)),
                                    bool(data_config.get("ticker_feature", False)), tickers, with_target=False)
    return pd.concat([pd.DataFrame(X, columns=names), meta], axis=1)


def load_finance(spec) -> Dataset:
    prices = load_prices(list(spec.tickers), spec.start, spec.end, interval=spec.interval,
                         auto_adjust=spec.auto_adjust, cache_dir=spec.cache_dir, offline=spec.offline,
                         prices_csv=spec.prices_csv, refresh=spec.refresh)
    for ticker, frame in prices.items():
        log.info("prices: %s %d rows, %s .. %s", ticker, len(frame), frame.index[0].date(), frame.index[-1].date())
    data = build_finance_dataset(prices, spec.seq_length, spec.volatility_window, spec.dead_zone,
                                 spec.ticker_feature)
    counts = np.bincount(data.y, minlength=2)
    log.info("finance: %d samples (windows of %d days), %d features each; up %d, down %d", data.n_samples,
             spec.seq_length, data.n_features, counts[1], counts[0])
    return data
