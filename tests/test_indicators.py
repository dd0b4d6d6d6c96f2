"""Indicators against textbook loop implementations, hand-worked numbers, and a no-look-ahead check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qhybrid.data.indicators import (
    feature_frame,
    log_returns,
    macd,
    moving_average_ratio,
    rolling_volatility,
    rsi,
    simple_returns,
)

PRICES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28,
          46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18,
          44.22, 44.57, 43.42, 42.66, 43.13]


def series(values) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=len(values), freq="B"), dtype="float64")


def assert_close(actual: pd.Series, expected: list[float], tol: float = 1e-12) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual.tolist(), expected):
        if math.isnan(want):
            assert math.isnan(got), (got, want)
        else:
            assert got == pytest.approx(want, rel=tol, abs=tol)


# textbook loops, written the long way on purpose


def loop_ema(values: list[float], span: int) -> list[float]:
    alpha = 2.0 / (span + 1)
    out = [values[0]]
    for x in values[1:]:
        out.append(alpha * x + (1 - alpha) * out[-1])
    return out


def loop_wilder_rsi(values: list[float], period: int) -> list[float]:
    out = [math.nan] * len(values)
    changes = [values[i] - values[i - 1] for i in range(1, len(values))]
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    avg_gain = sum(gains[:period]) / period
    avg_loss = sum(losses[:period]) / period
    for pos in range(period, len(values)):
        if pos > period:
            avg_gain = (avg_gain * (period - 1) + gains[pos - 1]) / period
            avg_loss = (avg_loss * (period - 1) + losses[pos - 1]) / period
        if avg_loss == 0:
            out[pos] = 50.0 if avg_gain == 0 else 100.0
        else:
            out[pos] = 100 - 100 / (1 + avg_gain / avg_loss)
    return out


def loop_moving_average_ratio(values: list[float], window: int) -> list[float]:
    out = []
    for t in range(len(values)):
        if t + 1 < window:
            out.append(math.nan)
        else:
            out.append(sum(values[t + 1 - window:t + 1]) / window / values[t])
    return out


def loop_volatility(values: list[float], window: int) -> list[float]:
    logs = [math.nan] + [math.log(values[i] / values[i - 1]) for i in range(1, len(values))]
    out = []
    for t in range(len(values)):
        if t < window:
            out.append(math.nan)
            continue
        chunk = logs[t + 1 - window:t + 1]
        mean = sum(chunk) / window
        out.append(math.sqrt(sum((x - mean) ** 2 for x in chunk) / (window - 1)))
    return out


# hand-worked numbers


def test_returns_by_hand():
    close = series([10.0, 11.0, 9.9])
    assert_close(simple_returns(close), [math.nan, 0.1, -0.1])
    assert_close(log_returns(close), [math.nan, math.log(1.1), math.log(0.9)])


def test_moving_average_ratio_by_hand():
    # MA3 at day 3 = (1 + 2 + 3) / 3 = 2, over a close of 3; at day 4 = 3 over 4
    assert_close(moving_average_ratio(series([1.0, 2.0, 3.0, 4.0]), 3), [math.nan, math.nan, 2 / 3, 3 / 4])


def test_rsi_of_monotone_and_flat_series():
    rising = rsi(series(np.arange(1.0, 31.0)), period=14)
    assert rising.iloc[:14].isna().all()
    assert (rising.iloc[14:] == 100.0).all()
    falling = rsi(series(np.arange(30.0, 0.0, -1.0)), period=14)
    assert (falling.iloc[14:] == 0.0).all()
    flat = rsi(series([5.0] * 20), period=14)
    assert (flat.iloc[14:] == 50.0).all()


def test_rsi_first_value_is_the_simple_average_by_hand():
    # period 3, changes +1, -2, +3: avg gain 4/3, avg loss 2/3, RS 2, RSI 100 - 100/3
    out = rsi(series([10.0, 11.0, 9.0, 12.0, 12.0]), period=3)
    assert_close(out.iloc[:4], [math.nan, math.nan, math.nan, 100 - 100 / 3])
    # next change 0: avg gain (4/3 * 2 + 0) / 3 = 8/9, avg loss 4/9, RS 2 again
    assert out.iloc[4] == pytest.approx(100 - 100 / 3, abs=1e-12)


def test_macd_of_a_constant_series_is_zero():
    out = macd(series([7.0] * 40))
    assert list(out.columns) == ["macd", "signal", "hist"]
    assert (out.abs().to_numpy() < 1e-12).all()


# against the loops


def test_rsi_matches_the_wilder_recursion():
    for period in (3, 5, 14):
        assert_close(rsi(series(PRICES), period), loop_wilder_rsi(PRICES, period))


def test_rsi_of_a_series_shorter_than_the_period_is_all_nan():
    assert rsi(series(PRICES[:10]), 14).isna().all()
    assert rsi(series(PRICES[:14]), 14).isna().all()
    assert not math.isnan(rsi(series(PRICES[:15]), 14).iloc[-1])


def test_macd_matches_ema_loops_seeded_with_the_first_price():
    out = macd(series(PRICES), fast=5, slow=10, signal=4)
    line = [f - s for f, s in zip(loop_ema(PRICES, 5), loop_ema(PRICES, 10))]
    signal = loop_ema(line, 4)
    assert_close(out["macd"], line)
    assert_close(out["signal"], signal)
    assert_close(out["hist"], [m - s for m, s in zip(line, signal)])
    default = macd(series(PRICES))
    assert_close(default["macd"], [f - s for f, s in zip(loop_ema(PRICES, 12), loop_ema(PRICES, 26))])


def test_moving_average_ratio_and_volatility_match_loops():
    for window in (3, 10):
        assert_close(moving_average_ratio(series(PRICES), window), loop_moving_average_ratio(PRICES, window))
        assert_close(rolling_volatility(series(PRICES), window), loop_volatility(PRICES, window))


def test_feature_frame_columns_and_scaling():
    prices = list(np.linspace(50.0, 80.0, 70) + np.sin(np.arange(70)))
    ohlcv = pd.DataFrame({"Open": prices, "Close": prices}, index=series(prices).index)
    frame = feature_frame(ohlcv, volatility_window=5)
    assert list(frame.columns) == ["return", "log_return", "ma10_ratio", "ma50_ratio", "volatility", "rsi",
                                   "macd", "macd_signal", "macd_hist"]
    assert frame.index.equals(ohlcv.index)
    close = ohlcv["Close"]
    assert_close(frame["rsi"], [v / 100 for v in loop_wilder_rsi(prices, 14)])
    lines = macd(close)
    assert_close(frame["macd_hist"], (lines["hist"] / close).tolist())
    assert_close(frame["volatility"], loop_volatility(prices, 5))
    assert_close(frame["ma50_ratio"], loop_moving_average_ratio(prices, 50))
    # warm-up rows keep their NaN; the caller drops them
    assert frame["ma50_ratio"].iloc[:49].isna().all() and frame.iloc[49:].notna().all().all()


def test_no_look_ahead():
    rng = np.random.default_rng(0)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 120)))
    index = pd.date_range("2023-01-02", periods=len(prices), freq="B")
    base = feature_frame(pd.DataFrame({"Close": prices}, index=index))
    for t in (0, 1, 13, 14, 15, 49, 50, 77, 118):
        changed = prices.copy()
        changed[t + 1:] *= rng.uniform(0.5, 1.5, len(prices) - t - 1)
        other = feature_frame(pd.DataFrame({"Close": changed}, index=index))
        before, after = base.iloc[:t + 1].to_numpy(), other.iloc[:t + 1].to_numpy()
        assert np.array_equal(np.isnan(before), np.isnan(after))
        assert np.allclose(before, after, rtol=0, atol=1e-12, equal_nan=True), t
        # the perturbation is visible after t, so the check above is not vacuous
        assert not np.allclose(base.iloc[t + 1:].to_numpy(), other.iloc[t + 1:].to_numpy(), equal_nan=True)
