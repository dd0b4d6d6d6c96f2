"""What a target column is: classes, or a number to regress (``task``), and the per-fold
scaling of a regression target.

``task=auto`` reads the column. A target is continuous (regression) when every value is a
finite number and

* some values are not whole numbers and there are more than MANY_CLASSES (10) distinct values,
  or more than one distinct value per two rows; or
* there are more than MANY_VALUES (20) distinct values and fewer than ROWS_PER_VALUE (20) rows
  per distinct value on average (distinct > rows / 20); or
* there are more than MANY_CLASSES distinct values and more than one per two rows.

Anything else is classes: text labels, or a few distinct numbers (0/1, grades 1-5, 12 digit
classes in 10,000 rows). Text with almost one value per row is an identifier, refused as a
target. ``task=classification`` refuses a continuous column; ``task=regression`` needs every
value to be a finite number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from qhybrid.errors import ConfigError, DataError

log = logging.getLogger("qhybrid")

TASKS = ("auto", "classification", "regression")
MANY_CLASSES = 10  # many classes with about one row each: not classes at all
MANY_VALUES = 20  # more distinct whole numbers than this, with few rows each: a quantity
ROWS_PER_VALUE = 20
FLOAT32_MAX = float(np.finfo(np.float32).max)


def valid_task(value) -> str:
    if value not in TASKS:
        raise ConfigError(f"task={value!r} is not a valid choice",
                          "use task=auto (regression for a continuous numeric target), classification or regression")
    return value


def _numbers(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)


def target_kind(as_str: np.ndarray) -> str:
    """"continuous", "identifier" or "classes" for a column of labels as text (no missing ones).
    A column of continuous numbers with a few text cells (under one in ten) is continuous: its
    text is a mistake to name (regression_values), not a reason to make each number a class."""
    distinct = pd.unique(pd.Series(as_str, dtype=object)).tolist()
    n_rows, n_distinct = len(as_str), len(distinct)
    numbers = _numbers(distinct)
    numeric = np.isfinite(numbers)
    if bool(n_distinct) and numeric.all():
        return "continuous" if _continuous(numbers, n_rows) else "classes"
    text_rows = int(pd.Series(as_str, dtype=object).isin(np.asarray(distinct, dtype=object)[~numeric]).sum())
    if text_rows < 0.1 * n_rows and _continuous(numbers[numeric], n_rows - text_rows):
        return "continuous"
    if n_distinct > n_rows / 2 and n_distinct > MANY_CLASSES:
        return "identifier"
    return "classes"


def _continuous(numbers: np.ndarray, n_rows: int) -> bool:
    """The rule of this module's docstring, for the distinct numbers of ``n_rows`` rows."""
    n_distinct = len(numbers)
    many = n_distinct > n_rows / 2
    fractional = bool((numbers != np.round(numbers)).any())
    return (fractional and (many or n_distinct > MANY_CLASSES)) or (many and n_distinct > MANY_CLASSES) \
        or (n_distinct > MANY_VALUES and n_distinct > n_rows / ROWS_PER_VALUE)


def describe_values(as_str: np.ndarray) -> str:
    """'214 distinct values in 442 rows, e.g. 151, 75, 141' for an error or log line."""
    distinct = pd.unique(pd.Series(as_str, dtype=object))
    return f"{len(distinct)} distinct values in {len(as_str)} rows, e.g. {', '.join(map(str, distinct[:3]))}"


def resolve_task(as_str: np.ndarray, requested: str, source: str, target: Optional[str]) -> str:
    """The task a target column is trained for ("classification" or "regression"): the one
    requested, checked against the column, or with task=auto the one the column shows."""
    kind = target_kind(as_str)
    column = f"data.target={target!r}" if target else "the target column"
    if requested == "regression":
        return "regression"
    if kind == "identifier":
        raise DataError(f"{source}: {column} looks like an identifier, not a class ({describe_values(as_str)}): "
                        "most classes would have a single row", "set data.target to the column that holds the classes")
    if kind != "continuous":
        return "classification"
    if requested == "classification":
        raise DataError(f"{source}: {column} looks continuous ({describe_values(as_str)}) and task=classification "
                        "needs classes", "use task=regression (or task=auto) to fit it as a number, set "
                        "data.target to the column that holds the classes, or bin the values into classes in the "
                        "file (e.g. with pandas.cut)")
    if np.isfinite(_numbers(as_str)).all():  # (numbers with a few text cells: regression_values names them)
        log.info("task=auto: regression, because %s holds numbers that look continuous (%s)", column,
                 describe_values(as_str))
    return "regression"


def regression_values(as_str: np.ndarray, source: str, target: Optional[str], rows_text=None) -> np.ndarray:
    """A regression target as float64: every value a finite number within the float32 range
    (the features' rule: its standardisation's arithmetic stays finite). ``rows_text(rows)``
    names rows in the file ('lines 5 and 9'), when there is a file."""
    values = _numbers(as_str)
    column = f"data.target={target!r}" if target else "the target column"
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(np.abs(values) <= FLOAT32_MAX))  # NaN (text) and too large alike
    if bad.size:
        where = rows_text(bad) if rows_text is not None else f"{bad.size} row(s)"
        raise DataError(f"{source}: a regression target needs a finite number (|y| <= {FLOAT32_MAX:.3g}) in every "
                        f"row of {column}, and it holds {str(as_str[bad[0]])!r} ({bad.size} such row(s): {where})",
                        "correct those values, or use task=classification if the column holds classes")
    return values


@dataclass
class TargetScaler:
    """A regression target standardised with the mean and standard deviation of a fold's fit
    rows only: the network trains on values of order 1, and its outputs are turned back into
    the target's units (float64) for every metric and prediction."""

    center: float = 0.0
    scale: float = 1.0

    @classmethod
    def fit(cls, y: np.ndarray) -> TargetScaler:
        y = np.asarray(y, dtype=np.float64)
        scale = float(y.std())
        return cls(float(y.mean()), scale if scale > 0 else 1.0)  # a constant part: shifted, not divided by 0

    def transform(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.center) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) * self.scale + self.center

    def state_dict(self) -> dict[str, float]:
        return {"center": self.center, "scale": self.scale}

    @classmethod
    def from_state_dict(cls, state: dict) -> TargetScaler:
        return cls(float(state["center"]), float(state["scale"]))
