"""Cross-validation folds and the validation split carved out of a fold's training part."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit, train_test_split

from qhybrid.data.dataset import Dataset
from qhybrid.errors import ConfigError, DataError
from qhybrid.schema import HoldoutSpec, StratifiedKFoldSpec, WalkForwardSpec


@dataclass(frozen=True)
class Fold:
    index: int
    train: np.ndarray  # row indices into the data set
    test: np.ndarray


def _class_counts(y: np.ndarray, classes: list[str]) -> dict[str, int]:
    counts = np.bincount(y, minlength=len(classes))
    return {c: int(n) for c, n in zip(classes, counts)}


def make_folds(spec, data: Dataset) -> list[Fold]:
    """Folds over ``data``; a fixed test set (data.test_path) is the single holdout fold."""
    if data.fixed_test is not None:
        if not isinstance(spec, HoldoutSpec):
            raise ConfigError("data.test_path is set, which needs cv=holdout", "add cv=holdout")
        test = np.asarray(data.fixed_test, dtype=np.int64)
        train = np.setdiff1d(np.arange(data.n_samples), test)
        _require_classes(data.y[train], data.classes, "the training file (data.path)")
        return [Fold(0, train, test)]
    if isinstance(spec, WalkForwardSpec):
        return _walk_forward(spec, data)
    if data.time_ordered and not spec.allow_shuffle_time_series:
        raise ConfigError(f"cv={spec.name} shuffles the rows of {data.name}, a time series: every fold would "
                          "train on days after the ones it is tested on",
                          "use cv=walk_forward, or cv.allow_shuffle_time_series=true to do it anyway")
    if isinstance(spec, StratifiedKFoldSpec):
        counts = _class_counts(data.y, data.classes)
        small = {c: n for c, n in counts.items() if n < spec.n_splits}
        if small:
            listed = ", ".join(f"{c!r}: {n}" for c, n in small.items())
            raise DataError(
                f"cv.n_splits={spec.n_splits} but some classes have fewer samples than folds ({listed})",
                f"lower cv.n_splits to at most {min(small.values())} (and >= 2), or use cv=holdout",
            )
        splitter = StratifiedKFold(
            n_splits=spec.n_splits, shuffle=spec.shuffle, random_state=spec.seed if spec.shuffle else None
        )
        return [Fold(k, tr, te) for k, (tr, te) in enumerate(splitter.split(np.zeros(data.n_samples), data.y))]
    if isinstance(spec, HoldoutSpec):
        counts = _class_counts(data.y, data.classes)
        small = {c: n for c, n in counts.items() if n < 2}
        if small:
            raise DataError(
                f"cv=holdout needs at least 2 samples per class for a stratified split; too few: {small}",
                "add samples of those classes, or give a fixed test file with data.test_path",
            )
        idx = np.arange(data.n_samples)
        try:
            train, test = train_test_split(
                idx, test_size=spec.test_fraction, stratify=data.y, random_state=spec.seed
            )
        except ValueError as err:
            raise DataError(
                f"cv.test_fraction={spec.test_fraction} cannot give a stratified split of {data.n_samples} samples ({err})",
                "raise or lower cv.test_fraction",
            ) from None
        return [Fold(0, np.sort(train), np.sort(test))]
    raise ConfigError(f"unknown cv strategy {getattr(spec, 'name', spec)!r}",
                      "use cv=stratified_kfold, cv=holdout or cv=walk_forward")


def _walk_forward(spec: WalkForwardSpec, data: Dataset) -> list[Fold]:
    gap = max(spec.gap, data.window)
    splitter = TimeSeriesSplit(n_splits=spec.n_splits, gap=gap, test_size=spec.test_size,
                               max_train_size=spec.max_train_size)
    try:
        splits = list(splitter.split(np.zeros(data.n_samples)))
    except ValueError as err:
        raise DataError(f"cv=walk_forward cannot make {spec.n_splits} folds of {data.n_samples} rows with a gap of "
                        f"{gap} ({err})", "lower cv.n_splits, cv.gap or cv.test_size") from None
    return [Fold(k, train, test) for k, (train, test) in enumerate(splits)]


def _require_classes(y: np.ndarray, classes: list[str], where: str) -> None:
    missing = [c for i, c in enumerate(classes) if not np.any(y == i)]
    if missing:
        raise DataError(f"{where} has no samples of class(es) {missing}", "every class must appear in the training data")


def split_validation(train: np.ndarray, y: np.ndarray, fraction: float, seed: int,
                     forward_gap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A fold's training rows as (fit rows, validation rows): stratified at random, or for
    a time series (``forward_gap`` given) the last rows, ``forward_gap`` rows after the fit rows."""
    if fraction == 0:
        return train, np.empty(0, dtype=np.int64)
    if forward_gap is not None:
        train = np.sort(train)
        n_val = int(np.ceil(fraction * len(train)))
        n_fit = len(train) - n_val - forward_gap
        if n_fit < 1:
            raise DataError(f"a fold's training part has only {len(train)} rows: too few for a validation split "
                            f"after a gap of {forward_gap}", "use more data, fewer folds, or trainer.val_fraction=0 "
                            "with trainer.early_stopping.enabled=false")
        return train[:n_fit], train[-n_val:]
    labels = y[train]
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    n_val = int(np.ceil(fraction * len(train)))
    n_classes_present = int((counts > 0).sum())
    if stratify is not None and n_val < n_classes_present:
        n_val = n_classes_present  # a stratified split needs one validation row per class
    if n_val >= len(train):
        raise DataError(
            f"a fold's training part has only {len(train)} rows: too few to carve out a validation split",
            "use more data, fewer folds, or trainer.val_fraction=0 with trainer.early_stopping.enabled=false",
        )
    fit, val = train_test_split(train, test_size=n_val, stratify=stratify, random_state=seed)
    return np.sort(fit), np.sort(val)
