"""Cross-validation folds and the validation split carved out of a fold's training part."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, train_test_split

from qhybrid.data.dataset import Dataset, shown_names
from qhybrid.errors import ConfigError, DataError, first_line
from qhybrid.training.cv_spec import CV, HoldoutSpec, StratifiedKFoldSpec, WalkForwardSpec, split_seeds


@dataclass(frozen=True)
class Fold:
    index: int
    train: np.ndarray  # row indices into the data set
    test: np.ndarray
    repeat: int = 0  # which split seed (repeats=R): folds are numbered on across repeats


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
    option = CV.get(spec.name)
    if not option.extra.get("forward") and data.time_ordered and not getattr(spec, "allow_shuffle_time_series", False):
        raise ConfigError(f"cv={spec.name} shuffles the rows of {data.name}, a time series: every fold would "
                          "train on days after the ones it is tested on",
                          "use cv=walk_forward, or cv.allow_shuffle_time_series=true to do it anyway")
    return option.build(spec, data)


def repeated_folds(spec, data: Dataset, repeats: int) -> list[Fold]:
    """The folds of ``repeats`` splits, each with its own seed (cv_spec.split_seeds), numbered
    on: repeat r's fold k is fold r * n_splits + k."""
    folds: list[Fold] = []
    seeds = split_seeds(spec.seed, repeats) if repeats > 1 else [None]  # walk_forward has no seed (no repeats)
    for repeat, seed in enumerate(seeds):
        split = make_folds(replace(spec, seed=seed) if seed is not None else spec, data)
        folds += [Fold(len(folds) + f.index, f.train, f.test, repeat) for f in split]
    return folds


def kfold(spec: StratifiedKFoldSpec, data: Dataset) -> list[Fold]:
    if data.regression:  # no classes to stratify by (the run says so when it adapts cv to the task)
        return plain_kfold(spec, data)
    _require_rows_per_class(data, spec.n_splits, f"cv.n_splits={spec.n_splits}")
    splitter = StratifiedKFold(n_splits=spec.n_splits, shuffle=spec.shuffle,
                               random_state=spec.seed if spec.shuffle else None)
    return [Fold(k, tr, te) for k, (tr, te) in enumerate(splitter.split(np.zeros(data.n_samples), data.y))]


def plain_kfold(spec: StratifiedKFoldSpec, data: Dataset) -> list[Fold]:
    if data.n_samples < spec.n_splits:
        raise DataError(f"cv.n_splits={spec.n_splits} needs at least one row per fold and data={data.name} has "
                        f"{data.n_samples}", f"lower cv.n_splits to at most {data.n_samples}")
    splitter = KFold(n_splits=spec.n_splits, shuffle=spec.shuffle, random_state=spec.seed if spec.shuffle else None)
    return [Fold(k, tr, te) for k, (tr, te) in enumerate(splitter.split(np.zeros(data.n_samples)))]


def holdout(spec: HoldoutSpec, data: Dataset) -> list[Fold]:
    if not data.regression:
        _require_rows_per_class(data, 2, "cv=holdout")
    return [_holdout(spec, data)]


def _quoted(names) -> str:
    return shown_names([repr(str(n)) for n in names], limit=8)


def _require_rows_per_class(data: Dataset, needed: int, split: str) -> None:
    """Each class in both the training and the test part of every fold: at least ``needed`` rows.
    The fix says what can work: a lone row needs more rows (or its class merged or dropped), not
    fewer folds."""
    counts = _class_counts(data.y, data.classes)
    single = [c for c, n in counts.items() if n == 1]
    if single:
        which = f"class {single[0]!r} has" if len(single) == 1 else f"classes {_quoted(single)} have"
        raise DataError(f"data={data.name}: {which} a single row (of {data.n_samples}); a class needs rows in both "
                        f"the training and the test part of {split}",
                        "collect more rows of that class, merge it into another class, or drop its row")
    small = {c: n for c, n in counts.items() if n < needed}
    if small:
        listed = ", ".join(f"{c!r}: {n} rows" for c, n in small.items())
        raise DataError(f"{split} needs at least {needed} rows per class (one per fold) and some classes have "
                        f"fewer ({listed})",
                        f"lower cv.n_splits to at most {min(small.values())}, or collect more rows of those classes")


def _holdout(spec: HoldoutSpec, data: Dataset) -> Fold:
    """One split, stratified for classes: it needs a test row and a training row of every class
    (a regression target, unstratified: one of each)."""
    n, k = data.n_samples, max(data.n_classes, 1)
    n_test = int(np.ceil(spec.test_fraction * n))  # as scikit-learn rounds a fraction
    if n_test < k:
        raise DataError(f"cv.test_fraction={spec.test_fraction} gives a test part of {n_test} of {n} rows, fewer than "
                        f"the {k} classes: a stratified split needs a test row of each",
                        f"raise cv.test_fraction to at least {np.ceil(100 * k / n) / 100:.2f}")
    if n - n_test < k:
        raise DataError(f"cv.test_fraction={spec.test_fraction} leaves {n - n_test} of {n} rows for training, fewer "
                        f"than the {k} classes",
                        f"lower cv.test_fraction to at most {np.floor(100 * (n - k) / n) / 100:.2f}")
    try:
        train, test = train_test_split(np.arange(n), test_size=spec.test_fraction, stratify=data.stratify_by,
                                       random_state=spec.seed)
    except ValueError as err:
        raise DataError(f"cv.test_fraction={spec.test_fraction} cannot give a stratified split of {n} samples "
                        f"({first_line(err)})", "raise or lower cv.test_fraction") from None
    return Fold(0, np.sort(train), np.sort(test))


def _forward_splits(spec: WalkForwardSpec, n_splits: int, data: Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    splitter = TimeSeriesSplit(n_splits=n_splits, gap=max(spec.gap, data.window), test_size=spec.test_size,
                               max_train_size=spec.max_train_size)
    return list(splitter.split(np.zeros(data.n_samples)))


def _lacking(splits, data: Dataset) -> tuple[int, list[str]] | None:
    """The first fold whose training part misses a class, and the classes it misses."""
    if data.regression:
        return None
    for k, (train, _) in enumerate(splits):
        present = np.bincount(data.y[train], minlength=data.n_classes) > 0
        if not present.all():
            return k, [c for c, p in zip(data.classes, present) if not p]
    return None


def walk_forward(spec: WalkForwardSpec, data: Dataset) -> list[Fold]:
    gap = max(spec.gap, data.window)
    try:
        splits = _forward_splits(spec, spec.n_splits, data)
    except ValueError as err:
        raise DataError(f"cv=walk_forward cannot make {spec.n_splits} folds of {data.n_samples} rows with a gap of "
                        f"{gap} ({err})", "lower cv.n_splits, cv.gap or cv.test_size") from None
    lacking = _lacking(splits, data)
    if lacking is not None:
        raise _fold_lacks_classes(spec, data, splits, *lacking)
    return [Fold(k, train, test) for k, (train, test) in enumerate(splits)]


def _fold_lacks_classes(spec: WalkForwardSpec, data: Dataset, splits, fold: int, missing: list[str]) -> DataError:
    """A model cannot learn a class its training rows never show: say which fold, which class,
    where the class first appears, and the fold count that would work (if any)."""
    train = splits[fold][0]
    first = int(np.flatnonzero(data.y == data.classes.index(missing[0]))[0])
    works = None
    for n_splits in range(spec.n_splits - 1, 1, -1):
        try:
            if _lacking(_forward_splits(spec, n_splits, data), data) is None:
                works = n_splits
                break
        except ValueError:
            continue
    fix = (f"lower cv.n_splits to {works} (longer training parts)" if works else
           f"collect earlier rows of {missing[0]!r}, or merge or drop that class")
    if spec.max_train_size:
        fix += ", or raise cv.max_train_size"
    return DataError(f"cv=walk_forward: the training part of fold {fold} (rows {train.min()}..{train.max()} in time "
                     f"order) has no row of class(es) {_quoted(missing)}; the first {missing[0]!r} is row {first} of "
                     f"{data.n_samples}", fix)


def _require_classes(y: np.ndarray, classes: list[str], where: str) -> None:
    missing = [c for i, c in enumerate(classes) if not np.any(y == i)]
    if missing:
        raise DataError(f"{where} has no samples of class(es) {_quoted(missing)}",
                        "every class must appear in the training data")


def split_validation(train: np.ndarray, y: np.ndarray | None, fraction: float, seed: int,
                     forward_gap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A fold's training rows as (fit rows, validation rows): stratified by ``y`` at random (at
    random only when ``y`` is None: a regression target), or for a time series (``forward_gap``
    given) the last rows, ``forward_gap`` rows after the fit rows."""
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
    labels = y[train] if y is not None else np.zeros(len(train), dtype=np.int64)
    counts = np.bincount(labels)
    stratify = labels if y is not None and counts[counts > 0].min() >= 2 else None
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
