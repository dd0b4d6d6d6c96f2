"""The data group's schemas: the keys every data set has, and each loader's own."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd

from qhybrid.data.dataset import existing_file
from qhybrid.errors import ConfigError
from qhybrid.spec_checks import choice, fraction, positive

SCALERS = ("standard", "robust", "minmax")
NAN_POLICIES = ("error", "drop", "impute")


IMBALANCE = ("none", "smote", "class_weights")


@dataclass
class DataCommon:
    """Keys every data set has: the per-fold scaler and the class-imbalance correction, both
    fitted on each fold's training rows only."""

    scaler: str = "standard"
    # smote: synthetic minority rows (imbalanced-learn) added to the fit rows only, never to
    # validation or test rows; class_weights: the loss weights classes by inverse frequency
    imbalance: str = "none"
    smote_k_neighbors: int = 5
    # a data set of your own: the module (dotted name or .py file) that registers it
    # (qhybrid/data/options.py); qhybrid's own data sets need none
    module: Optional[str] = None

    def check_common(self) -> None:
        choice("data.scaler", self.scaler, SCALERS)
        choice("data.imbalance", self.imbalance, IMBALANCE)
        positive("data.smote_k_neighbors", self.smote_k_neighbors)


@dataclass
class BuiltinDataSpec(DataCommon):
    name: str = "iris"
    positive_class: Optional[str] = None

    def check(self) -> None:
        self.check_common()


@dataclass
class CsvDataSpec(DataCommon):
    name: str = "csv"
    path: str = "???"
    target: Optional[str] = None
    features: Optional[list[str]] = None
    test_path: Optional[str] = None
    header: bool = True
    sep: str = ","
    nan_policy: str = "error"
    positive_class: Optional[str] = None
    time_column: Optional[str] = None  # rows are a time series ordered by this column: forward CV only
    id_column: Optional[str] = None  # a row identifier: not a feature, passed through to predictions
    drop_columns: Optional[list[str]] = None  # columns that are neither features nor the target
    categorical: Optional[list[str]] = None  # feature columns of categories: one-hot inside each fold

    def check(self) -> None:
        self.check_common()
        choice("data.nan_policy", self.nan_policy, NAN_POLICIES)
        self._check_layout()
        # a missing file is found at start, before anything else is done
        existing_file(self.path, "data.path")
        if self.test_path:
            existing_file(self.test_path, "data.test_path")
        if self.features is not None and len(self.features) == 0:
            raise ConfigError("data.features is an empty list", "name at least one column, or drop the key")
        if self.target is not None and self.features is not None and self.target in self.features:
            raise ConfigError(
                f"data.target={self.target!r} is also listed in data.features",
                "remove the label column from data.features",
            )


    def _check_layout(self) -> None:
        """The id, dropped, target and feature columns are distinct roles: a column has one."""
        roles = {"data.target": [self.target] if self.target else [], "data.id_column": [self.id_column]
                 if self.id_column else [], "data.drop_columns": list(self.drop_columns or []),
                 "data.time_column": [self.time_column] if self.time_column else [],
                 "data.categorical": list(self.categorical or [])}
        # a categorical column is a feature; any other role is not
        clash = [c for c in self.features or [] for k, v in roles.items()
                 if k not in ("data.categorical", "data.target") and c in v]
        if clash:
            role = next(k for k, v in roles.items() if clash[0] in v)
            raise ConfigError(f"column {clash[0]!r} is both in data.features and {role}", "give each column one role")
        missing = [c for c in self.categorical or [] if self.features is not None and c not in self.features]
        if missing:
            raise ConfigError(f"data.categorical names {missing[0]!r}, which data.features leaves out",
                              "list it in data.features too, or drop it from data.categorical")
        seen: dict[str, str] = {}
        for key, columns in roles.items():
            for column in columns:
                if column in seen:
                    raise ConfigError(f"column {column!r} is both {seen[column]} and {key}",
                                      "give each column one role")
                seen[column] = key


@dataclass
class GenomicsDataSpec(DataCommon):
    """Genotypes (0/1/2 per SNP) of K populations, the population as the target: simulated
    with the Balding-Nichols model (qhybrid.data.genomics); PCA inside each fold."""

    name: str = "genomics"
    n_populations: int = 3
    n_samples: int = 300
    n_snps: int = 1000
    fst: float = 0.05  # Wright's fixation index: how far the populations drifted apart
    seed: int = 0
    pca_components: int = 4  # 0: no PCA; fitted on each fold's training rows only
    path: Optional[str] = None  # a genotype CSV (SNP columns 0/1/2) instead of the simulation
    target: str = "population"  # its population column

    def check(self) -> None:
        self.check_common()
        if self.path is not None:
            existing_file(self.path, "data.path")
        if self.n_populations < 2:
            raise ConfigError(f"data.n_populations={self.n_populations} is out of range", "simulate at least 2")
        positive("data.n_samples", self.n_samples)
        positive("data.n_snps", self.n_snps)
        fraction("data.fst", self.fst)
        positive("data.pca_components", self.pca_components, allow_zero=True)
        if self.path is None and self.pca_components > self.n_snps:
            raise ConfigError(f"data.pca_components={self.pca_components} exceeds data.n_snps={self.n_snps}",
                              "keep at most as many components as SNPs")


YF_INTERVALS = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo")
STRATEGIES = ("long_short", "long_only")


@dataclass
class FinanceDataSpec(DataCommon):
    """Daily prices (yfinance, qhybrid's own cache, or a local OHLCV file) turned into
    windows of technical indicators; the target is the next period's direction
    (qhybrid.data.finance). A time series: forward CV only."""

    name: str = "finance"
    tickers: list[str] = field(default_factory=lambda: ["AAPL"])
    start: Optional[str] = "2015-01-01"  # inclusive
    end: Optional[str] = "2025-01-01"  # exclusive (as yfinance)
    interval: str = "1d"
    auto_adjust: bool = True  # split- and dividend-adjusted prices (a split is not a -50% day)
    cache_dir: Optional[str] = None  # default: $XDG_CACHE_HOME/qhybrid/prices or ~/.cache/qhybrid/prices
    offline: bool = False  # never download: read the cache (or data.prices_csv)
    refresh: bool = False  # download again even when the cache has the range
    prices_csv: Optional[str] = None  # a local OHLCV file or folder of <TICKER>.csv: no download
    seq_length: int = 30  # days of indicators per sample
    volatility_window: int = 20
    dead_zone: float = 0.0  # |next return| below this: the row is not used for fitting (still tested)
    ticker_feature: bool = False  # append a one-hot of the ticker to every sample
    strategy: str = "long_short"  # the research figure: long on predicted up, short (or flat) on down

    def check(self) -> None:
        self.check_common()
        if not self.tickers or any(not str(t).strip() for t in self.tickers):
            raise ConfigError(f"data.tickers={list(self.tickers)!r} names no ticker",
                              "give at least one, e.g. data.tickers=[AAPL,MSFT]")
        if len(set(self.tickers)) != len(self.tickers):
            raise ConfigError(f"data.tickers={list(self.tickers)!r} lists a ticker twice", "list each ticker once")
        dates = {}
        for key in ("start", "end"):
            value = getattr(self, key)
            if value is None:
                continue
            try:
                dates[key] = pd.Timestamp(str(value))
            except (ValueError, TypeError):
                raise ConfigError(f"data.{key}={value!r} is not a date", f"write data.{key}=YYYY-MM-DD") from None
        if len(dates) == 2 and dates["start"] >= dates["end"]:
            raise ConfigError(f"data.start={self.start} is not before data.end={self.end}",
                              "give a start date before the end date (the end is exclusive)")
        choice("data.interval", self.interval, YF_INTERVALS)
        choice("data.strategy", self.strategy, STRATEGIES)
        positive("data.seq_length", self.seq_length)
        if self.volatility_window < 2:
            raise ConfigError(f"data.volatility_window={self.volatility_window} is out of range",
                              "use at least 2 periods (a standard deviation needs two returns)")
        positive("data.dead_zone", self.dead_zone, allow_zero=True)
        prices_csv = Path(self.prices_csv).expanduser() if self.prices_csv is not None else None
        if prices_csv is not None and not prices_csv.exists():
            raise ConfigError(f"data.prices_csv: no such file or folder: {prices_csv.resolve()}",
                              f"check the path (relative paths are read from {Path.cwd()})")
