"""The plain-array data set every loader returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from qhybrid.data.target import resolve_task
from qhybrid.errors import DataError


@dataclass
class Dataset:
    """Features, encoded labels (or a regression target) and what is needed to read them back.

    ``X`` is float64 and may hold NaN only when the loader was told to impute (the imputer
    is fitted per fold). ``y`` holds class indices into ``classes``, or for a regression
    data set (``regression``; ``classes`` empty) the target's values as float64. Rows listed
    in ``fixed_test`` form a held-out test set given by the user (data.test_path).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    classes: list[str]
    feature_names: list[str]
    fixed_test: Optional[np.ndarray] = None
    # rows in time order (a time series): CV must split forward, never shuffle; ``window``
    # is how many consecutive rows a sample's inputs and target span (the gap CV keeps)
    time_ordered: bool = False
    window: int = 1
    # row-aligned extras a loader may add: finance keeps date, ticker and next_return here
    # (the trading figures need the returns; predictions.csv shows date and ticker)
    meta: Optional[pd.DataFrame] = None
    # rows usable for fitting (None: all); the others are still validated and tested
    fit_mask: Optional[np.ndarray] = None
    regression: bool = False
    # categorical features (data.categorical): name -> its categories; X holds each row's index
    # into them (-1: missing), one-hot encoded inside each fold (qhybrid.data.preprocess)
    categories: Optional[dict[str, list[str]]] = None

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_outputs(self) -> int:
        """The model's outputs: one per class, or the single value of a regression."""
        return 1 if self.regression else self.n_classes

    @property
    def task(self) -> str:
        if self.regression:
            return "regression"
        return "binary" if self.n_classes == 2 else "multiclass"

    @property
    def stratify_by(self) -> Optional[np.ndarray]:
        """The labels a split keeps in proportion; None for a regression target (no classes)."""
        return None if self.regression else self.y


def existing_file(value: str, key: str) -> Path:
    """The path a config key names, checked to be an existing file (relative to the cwd)."""
    path = Path(value).expanduser()
    if not path.exists():
        raise DataError(f"{key}: file not found: {path.resolve()}",
                        f"check the path (relative paths are read from {Path.cwd()})")
    if path.is_dir():
        raise DataError(f"{key}: {path.resolve()} is a folder, not a CSV file", f"point {key} at a .csv file")
    return path


def category_text(values: pd.Series) -> pd.Series:
    """A categorical column's values as the text they are compared by: stripped, and a whole
    number written as a decimal (3.0, an export's float column) as the integer it is (3), as
    labels are read. Integers stay as written: 007 is a category of its own."""
    text = values.astype("string").str.strip()
    decimal = text.str.fullmatch(r"[+-]?\d+\.0*", na=False)
    return text.mask(decimal, text.str.replace(r"\.0*$", "", regex=True))


def category_codes(values: pd.Series, names: list[str]) -> np.ndarray:
    """Each value's index into ``names`` as float64 (data.categorical's encoding in X): -1 for
    a missing value or one ``names`` does not have (compared as ``category_text``)."""
    return pd.Categorical(category_text(values), categories=names).codes.astype(np.float64)


def category_names(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """The values ``category_codes`` encoded (-1: missing)."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=names)


def label_strings(labels) -> np.ndarray:
    """Labels as strings (labels are text everywhere: `$0_$50k`, `[red]`, `a,b` are class names).
    Whole-number floats read as integers (1.0 -> '1'), so a label column that pandas read as float
    because of a gap names its classes as the file does. 1 and '1' are one class: a CSV cannot tell
    them apart, and pandas mixes them in one column when it reads a large file in chunks."""
    values = np.asarray(labels)
    if values.dtype.kind == "f" and np.isfinite(values).all() and np.array_equal(values, np.round(values)):
        values = values.astype(np.int64)
    return pd.Series(values, dtype=object).astype(str).to_numpy(dtype=object)


def encode_labels(labels: np.ndarray, positive_class: Optional[str], source: str,
                  target: Optional[str] = None) -> tuple[np.ndarray, list[str]]:
    """Map raw labels to 0..C-1 in sorted order; for a binary task the positive class is 1.

    Labels are compared as strings so that `positive_class=1` on the command line matches
    an integer label column.
    """
    as_str = label_strings(labels)
    codes, distinct = pd.factorize(pd.Series(as_str, dtype=object))
    classes = sorted(distinct.tolist(), key=_natural_key)
    if len(classes) < 2:
        only = classes[0] if classes else "none"
        raise DataError(
            f"{source}: the label column has a single class ({only!r}); a classifier needs at least two",
            "check data.target, or the rows you selected",
        )
    _refuse_non_classes(as_str, source, target)
    _refuse_same_number_twice(classes, source, target)
    if positive_class is not None:
        positive_class = str(positive_class)
        if len(classes) != 2:
            raise DataError(
                f"data.positive_class={positive_class!r} is set, but the task has {len(classes)} classes",
                "drop data.positive_class (it applies to binary tasks only)",
            )
        if positive_class not in classes:
            raise DataError(
                f"data.positive_class={positive_class!r} is not one of the labels {classes}",
                "use one of the labels as data.positive_class",
            )
        classes = [c for c in classes if c != positive_class] + [positive_class]
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[c] for c in distinct.tolist()], dtype=np.int64)[codes]
    return y, classes


def _refuse_same_number_twice(classes: list[str], source: str, target: Optional[str]) -> None:
    """Labels are text, so '1' and '1.0' would be two classes: almost surely one class written
    two ways (an export that turned some integers into floats)."""
    numbers = pd.to_numeric(pd.Series(classes, dtype=object), errors="coerce")
    repeated = numbers[numbers.notna() & numbers.duplicated(keep=False)]
    if len(repeated):
        same = [classes[i] for i in repeated.index if numbers[i] == repeated.iloc[0]]
        raise DataError(f"{source}: the label column{f' {target!r}' if target else ''} writes one number as "
                        f"several labels ({', '.join(map(repr, same))}), which would be separate classes",
                        "write each class the same way in every row")


def check_target(labels: np.ndarray, source: str, target: Optional[str], task: str = "classification") -> str:
    """The label column alone, before the features are read: a continuous or identifier
    column chosen as the target is the first thing to say. Returns the task it is trained
    for (qhybrid.data.target.resolve_task)."""
    return resolve_task(label_strings(labels), task, source, target)


def _refuse_non_classes(as_str: np.ndarray, source: str, target: Optional[str]) -> None:
    """A continuous target or an identifier column encoded as classes: one line saying so, not
    a cross-validation error about classes with one row."""
    resolve_task(as_str, "classification", source, target)


def _natural_key(label: str) -> tuple:
    """Numeric labels sort numerically (2 before 10), others alphabetically."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def shown_names(names, limit: int = 12) -> str:
    """At most ``limit`` names for an error line, and how many more there are."""
    names = [str(n) for n in names]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
