"""data=finance: windows of indicators, the next-day target, no look-ahead, walk-forward
folds that keep a window's gap, the trading figures, and the CLI with no network."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, fast, run_cli
from helpers.scheduling import HEAVY

from qhybrid.data.finance import build_finance_dataset
from qhybrid.data.indicators import feature_frame
from qhybrid.errors import ConfigError
from qhybrid.schema import WalkForwardSpec, validate
from qhybrid.training.cv import make_folds, split_validation
from qhybrid.training.trading import daily_returns, trading_metrics

BUNDLED = REPO / "tests" / "data" / "prices" / "stocks_2009_2013.csv"


def _prices(n_days: int = 220, seed: int = 0, tickers=("AAA", "BBB")) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2020-01-01", periods=n_days, name="Date")
    out = {}
    for k, ticker in enumerate(tickers):
        close = (50.0 + 30 * k) * np.exp(np.cumsum(rng.normal(0, 0.02, n_days)))
        out[ticker] = pd.DataFrame({"Open": close, "High": close * 1.01, "Low": close * 0.99, "Close": close,
                                    "Volume": 1e6}, index=days)
    return out


class TestSamples:
    def test_a_sample_is_the_last_days_of_indicators_and_its_target_the_next_move(self):
        prices = _prices(tickers=("AAA",))
        data = build_finance_dataset(prices, seq_length=5)
        features = feature_frame(prices["AAA"])
        close = prices["AAA"]["Close"]
        for i in (0, 17, data.n_samples - 1):
            day = data.meta["date"].iloc[i]
            t = close.index.get_loc(day)
            expected = features.iloc[t - 4: t + 1].to_numpy().ravel()  # oldest day first
            np.testing.assert_array_equal(data.X[i], expected)
            assert data.y[i] == int(close.iloc[t + 1] > close.iloc[t])
            assert data.meta["next_return"].iloc[i] == pytest.approx(close.iloc[t + 1] / close.iloc[t] - 1)
        assert data.feature_names[0] == "return_t-4" and data.feature_names[-1] == "macd_hist_t-0"
        assert np.isfinite(data.X).all()
        # the last day has no next close: it is no sample
        assert data.meta["date"].iloc[-1] == close.index[-2]

    def test_tickers_pool_by_date_and_the_window_spans_both(self):
        data = build_finance_dataset(_prices(), seq_length=10, ticker_feature=True)
        dates = data.meta["date"].to_numpy()
        assert (np.diff(dates.astype("datetime64[ns]").astype(np.int64)) >= 0).all()
        assert data.time_ordered and data.window == 11 * 2
        onehot = data.X[:, -2:]
        assert (onehot.sum(axis=1) == 1).all()
        assert (onehot[:, 0] == (data.meta["ticker"] == "AAA")).all()

    def test_the_dead_zone_keeps_rows_for_testing_but_not_for_fitting(self):
        data = build_finance_dataset(_prices(), seq_length=5, dead_zone=0.01)
        small = np.abs(data.meta["next_return"].to_numpy()) < 0.01
        assert small.any() and (data.fit_mask == ~small).all()

    def test_no_look_ahead(self):
        """Changing prices after day t changes no sample's inputs up to t, nor any target before t."""
        prices = _prices(seed=3)
        before = build_finance_dataset(prices, seq_length=8)
        rng = np.random.default_rng(4)
        for cut in (90, 150, 200):
            changed = {}
            for ticker, frame in prices.items():
                frame = frame.copy()
                frame.iloc[cut + 1:, :4] *= rng.uniform(0.5, 1.5, size=(len(frame) - cut - 1, 1))
                changed[ticker] = frame
            after = build_finance_dataset(changed, seq_length=8)
            day = prices["AAA"].index[cut]
            upto = (before.meta["date"] <= day).to_numpy()
            assert upto.sum() == ((after.meta["date"] <= day).to_numpy()).sum() > 0
            np.testing.assert_array_equal(before.X[upto], after.X[upto])
            earlier = (before.meta["date"] < day).to_numpy()
            np.testing.assert_array_equal(before.y[earlier], after.y[earlier])


class TestWalkForward:
    @pytest.mark.parametrize("gap", [0, 40])
    def test_folds_never_train_on_the_future_and_keep_a_window_of_days_between(self, gap):
        data = build_finance_dataset(_prices(n_days=400), seq_length=20)
        days = data.meta["date"].to_numpy()
        trading_days = np.unique(days)
        rank = np.searchsorted(trading_days, days)  # a row's trading-day number
        for fold in make_folds(WalkForwardSpec(n_splits=4, gap=gap), data):
            assert days[fold.train].max() < days[fold.test].min()
            # no training sample's window (its days and its target day) reaches the test days
            assert rank[fold.train].max() + 21 <= rank[fold.test].min()
            fit, val = split_validation(fold.train, data.y, 0.2, seed=0, forward_gap=data.window)
            assert rank[fit].max() + 21 <= rank[val].min()

    def test_a_shuffled_split_of_finance_data_is_refused(self, compose):
        with pytest.raises(ConfigError, match="shuffles the rows of a time series"):
            validate(compose(["data=finance", "cv=stratified_kfold"]))
        assert compose(["data=finance"]).cv.name == "walk_forward"  # the default for finance
        validate(compose(["data=finance", "cv=stratified_kfold", "cv.allow_shuffle_time_series=true"]))


class TestTradingFigures:
    META = pd.DataFrame({"date": pd.to_datetime(["2021-01-04", "2021-01-04", "2021-01-05", "2021-01-05",
                                                 "2021-01-06"]),
                         "ticker": ["A", "B", "A", "B", "A"],
                         "next_return": [0.10, -0.02, 0.0, 0.04, -0.05]})

    def test_long_short_against_buy_and_hold_by_hand(self):
        up = np.array([True, True, False, True, False])
        figures = trading_metrics(self.META, up, "long_short")
        # day 1: (0.10 - 0.02) / 2 = 0.04; day 2: (-0.0 + 0.04) / 2 = 0.02; day 3: short -0.05 -> +0.05
        assert figures["strategy_return"] == pytest.approx(1.04 * 1.02 * 1.05 - 1)
        # buy and hold: 0.04, 0.02, -0.05
        assert figures["buy_and_hold_return"] == pytest.approx(1.04 * 1.02 * 0.95 - 1)
        # the day without a move is left out: 3 of 4 calls right (A day 1, B day 2, A day 3; not B day 1)
        assert figures["directional_accuracy"] == pytest.approx(3 / 4)

    def test_long_only_is_flat_on_predicted_down_days(self):
        up = np.array([False, False, False, False, False])
        daily = daily_returns(self.META, up, "long_only")
        assert (daily["strategy"] == 0).all() and trading_metrics(self.META, up, "long_only")["strategy_return"] == 0


def test_the_finance_preset_runs_walk_forward_on_the_bundled_prices(tmp_path, cli):
    out = tmp_path / "run"
    result = cli(["train", "experiment=finance", "data.offline=true", f"data.prices_csv={BUNDLED}",
                  "model=g0", *fast("cv.n_splits=3", keep=["plots"]), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cv"] == {"name": "walk_forward", "n_folds": 3}
    for name in ("directional_accuracy", "strategy_return", "buy_and_hold_return"):
        assert metrics["summary"][name]["mean"] is not None
    assert "not a backtest" in metrics["trading"]["note"]
    assert (out / "trading_returns.png").stat().st_size > 0
    predictions = pd.read_csv(out / "predictions.csv")
    assert set(predictions["ticker"]) == {"AAPL", "MSFT"} and "next_return" in predictions
    # predict from the prices file: the same windows, so the fold's probabilities come back,
    # and the last day (no next close yet) gets its call too
    predicted = cli(["predict", f"run={out}", f"input={BUNDLED}", "checkpoint=fold_1",
                     f"output={tmp_path / 'calls.csv'}"])
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    calls = pd.read_csv(tmp_path / "calls.csv")
    assert calls["date"].max() == "2013-03-01" and calls["next_return"].isna().sum() == 2
    fold = predictions[predictions["fold"] == 1].merge(calls, on=["date", "ticker"], suffixes=("", "_again"))
    assert len(fold) == (predictions["fold"] == 1).sum()
    np.testing.assert_allclose(fold["proba_up_again"], fold["proba_up"], atol=1e-6)


@HEAVY
def test_without_network_or_cache_the_cli_says_what_to_do_in_one_line(tmp_path):
    # a proxy on a closed port: the download fails at once, as on a machine without network.
    # The installed command: the proxy and the cache folder hold for the whole process, as on
    # such a machine (yfinance, imported here, would keep this process's own cache folder)
    dead = "http://127.0.0.1:9"
    env = {"HTTPS_PROXY": dead, "HTTP_PROXY": dead, "https_proxy": dead, "http_proxy": dead,
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = run_cli(["train", "data=finance", "data.tickers=[AAPL]"], cwd=tmp_path, env=env)
    assert result.returncode == 2
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "AAPL" in lines[0] and "data.prices_csv" in lines[0] and "data.offline" in lines[0]
    assert "cache" in lines[0] and "Traceback" not in lines[0]
