"""The cv group's schemas: k-fold, holdout and walk-forward splits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from qhybrid.errors import ConfigError
from qhybrid.registry import Registry
from qhybrid.spec_checks import fraction, positive


@dataclass
class StratifiedKFoldSpec:
    name: str = "stratified_kfold"
    n_splits: int = 5
    shuffle: bool = True
    seed: int = 0
    allow_shuffle_time_series: bool = False  # a shuffled split of a time series trains on the future

    def check(self) -> None:
        if self.n_splits < 2:
            raise ConfigError(
                f"cv.n_splits={self.n_splits} is out of range",
                "use cv.n_splits >= 2, or cv=holdout for a single split",
            )


@dataclass
class KFoldSpec(StratifiedKFoldSpec):
    """Plain k-fold: folds drawn without regard to the target (regression targets have no
    classes to stratify by)."""

    name: str = "kfold"


@dataclass
class HoldoutSpec:
    name: str = "holdout"
    test_fraction: float = 0.2
    seed: int = 0
    allow_shuffle_time_series: bool = False

    def check(self) -> None:
        fraction("cv.test_fraction", self.test_fraction)


@dataclass
class WalkForwardSpec:
    """Expanding-window splits forward in time (scikit-learn's TimeSeriesSplit): each fold
    trains on the past only, with ``gap`` rows left out before its test rows (at least the
    data's window, so no sample straddles the boundary)."""

    name: str = "walk_forward"
    n_splits: int = 5
    gap: int = 0
    test_size: Optional[int] = None  # rows per test fold (default: as many as fit)
    max_train_size: Optional[int] = None  # null: expanding window; N: the last N rows only

    def check(self) -> None:
        if self.n_splits < 2:
            raise ConfigError(f"cv.n_splits={self.n_splits} is out of range", "use cv.n_splits >= 2")
        positive("cv.gap", self.gap, allow_zero=True)
        if self.test_size is not None:
            positive("cv.test_size", self.test_size)
        if self.max_train_size is not None:
            positive("cv.max_train_size", self.max_train_size)


# forward: the strategy splits in time order (a time series needs one that does)
CV = Registry("cv", "cv strategy")
CV.add("stratified_kfold", StratifiedKFoldSpec, "qhybrid.training.cv:kfold",
       "k folds, each class in proportion in every fold (scikit-learn's StratifiedKFold)", forward=False)
CV.add("kfold", KFoldSpec, "qhybrid.training.cv:plain_kfold",
       "k folds drawn without regard to the target (scikit-learn's KFold): regression", forward=False)
CV.add("holdout", HoldoutSpec, "qhybrid.training.cv:holdout",
       "one train/test split (stratified for classes)", forward=False)
CV.add("walk_forward", WalkForwardSpec, "qhybrid.training.cv:walk_forward",
       "expanding windows forward in time, a gap before each test part (time series)", forward=True)


def check_repeats(spec) -> None:
    """repeats=R draws R splits with other seeds: a split that no seed changes cannot repeat."""
    if spec.repeats == 1:
        return
    fixed = None
    if CV.get(spec.cv.name).extra.get("forward"):
        fixed = f"cv={spec.cv.name} splits in time order, the same way for every seed"
    elif getattr(spec.cv, "shuffle", True) is False:
        fixed = "cv.shuffle=false gives the same folds for every seed"
    elif getattr(spec.data, "test_path", None):
        fixed = "data.test_path fixes the test rows"
    if fixed:
        raise ConfigError(f"repeats={spec.repeats} repeats the split with other seeds, but {fixed}",
                          "use repeats=1, or a shuffled split (cv=stratified_kfold, kfold or holdout)")


def split_seeds(seed: int, repeats: int) -> list[int]:
    """The cv seed of each repeat: the first is cv.seed itself (repeats=1 is the plain run);
    the others drawn from it, so two runs' repeats do not share splits by counting up."""
    import numpy as np  # lazy: `qhybrid train --help` imports this module

    drawn = np.random.SeedSequence([seed, 0x5EED]).generate_state(max(repeats - 1, 1), dtype=np.uint32)
    return [seed, *(int(s) % (2**31) for s in drawn[: repeats - 1])]
