"""Finance figures of one test fold: directional accuracy and, as a research figure only,
the cumulative return of trading the predicted direction against buy-and-hold.

The strategy holds each ticker for one period on the model's call made at the close of day
t: long when it predicts up, short (long_short) or flat (long_only) when it predicts down;
tickers are weighted equally each day. No transaction costs, slippage, borrowing costs or
dividends beyond the adjusted prices: a figure to compare models, not a backtest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADING_METRICS = ("directional_accuracy", "strategy_return", "buy_and_hold_return")
NOTE = ("research figure: cumulative return of trading the predicted direction over each test fold vs "
        "buy-and-hold, tickers equally weighted, no transaction costs or slippage; not a backtest")


def daily_returns(meta: pd.DataFrame, predicted_up: np.ndarray, strategy: str) -> pd.DataFrame:
    """Per test day: the strategy's and buy-and-hold's equal-weighted return."""
    next_return = meta["next_return"].to_numpy(dtype=np.float64)
    short = -1.0 if strategy == "long_short" else 0.0
    position = np.where(predicted_up, 1.0, short)
    frame = pd.DataFrame({"date": meta["date"].to_numpy(), "strategy": position * next_return,
                          "buy_and_hold": next_return})
    return frame.groupby("date", sort=True).mean()


def trading_metrics(meta: pd.DataFrame, predicted_up: np.ndarray, strategy: str,
                    daily: pd.DataFrame | None = None) -> dict[str, float]:
    """``daily``: daily_returns of the same arguments, when the caller has them already."""
    next_return = meta["next_return"].to_numpy(dtype=np.float64)
    moved = next_return != 0  # a day without a move has no direction to get right
    directional = float(np.mean(predicted_up[moved] == (next_return[moved] > 0))) if moved.any() else float("nan")
    if daily is None:
        daily = daily_returns(meta, predicted_up, strategy)
    return {"directional_accuracy": directional,
            "strategy_return": float(np.prod(1.0 + daily["strategy"].to_numpy()) - 1.0),
            "buy_and_hold_return": float(np.prod(1.0 + daily["buy_and_hold"].to_numpy()) - 1.0)}
