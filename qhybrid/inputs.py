"""The rows a saved model predicts on, checked once at the boundary (as scikit-learn does).

Both ``qhybrid predict`` and ``qhybrid.load(run).predict(...)`` come through here, so they
accept and refuse the same things:

- a pandas DataFrame: feature columns matched by name (any order; the run's target column
  may be present and is ignored); a missing, unknown or duplicated column is one line;
- any other 2-D array-like: exactly one column per feature, in the run's feature order;
- every value a number (bool, int or float), finite (NaN only where the run imputes) and
  within float32's range, since the model computes in float32.

Rows are named by one convention per source: a DataFrame's index labels, an array's
0-based positions, a CSV file's line numbers (``RowNames``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from qhybrid.data.checks import FLOAT32_MAX, beyond_float32
from qhybrid.errors import DataError

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats
# what pandas infers for an object column whose values are all numbers
NUMERIC_INFERRED = ("integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty")
SHOWN = 8


@dataclass(frozen=True)
class RowNames:
    """How an error names rows: ``word`` for one, ``word + "s"`` for several, then ``note``."""

    word: str = "row"
    note: str = ""

    def __call__(self, labels: Sequence[Any]) -> str:
        labels = list(labels)
        shown = ", ".join(str(label) for label in labels[:5])
        if len(labels) > 5:
            shown += f" and {len(labels) - 5} more"
        word = self.word if len(labels) == 1 else self.word + "s"
        return f"{word} {shown}{' ' + self.note if self.note else ''}"


DATAFRAME_ROWS = RowNames("row", "(DataFrame index)")
ARRAY_ROWS = RowNames("row", "(0-based)")


def csv_rows(path: Path) -> RowNames:
    return RowNames("line", f"of {path}")


def shown(names: Sequence[str]) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:SHOWN]) + ("..." if len(names) > SHOWN else "")


def feature_matrix(X: Any, feature_names: list[str], *, ignored: Sequence[str] = (),
                   allow_missing: bool = False, rows: Optional[RowNames] = None) -> np.ndarray:
    """X's features as a float64 (rows, features) array in the model's order, or one DataError.
    ``ignored``: columns a DataFrame may carry besides the features (the run's target);
    ``allow_missing``: NaN passes (the run's preprocessing imputes it)."""
    if isinstance(X, pd.DataFrame):
        table = _by_name(X, feature_names, ignored)
        rows = rows or DATAFRAME_ROWS
    else:
        table = _by_position(X, feature_names)
        rows = rows or ARRAY_ROWS
    if len(table) == 0:
        raise DataError("the input has no rows", "give at least one row to predict")
    values = np.column_stack([_numbers(table.iloc[:, i], name, rows) for i, name in enumerate(feature_names)])
    _check_finite(values, feature_names, table.index, rows, allow_missing)
    return values


def _by_name(table: pd.DataFrame, feature_names: list[str], ignored: Sequence[str]) -> pd.DataFrame:
    """The feature columns of a DataFrame by name, in the model's order."""
    columns = [str(c) for c in table.columns]
    duplicated = _repeated(columns)
    if duplicated:
        raise DataError(f"the input has the column name(s) {shown(duplicated)} more than once",
                        "give every column a distinct name")
    missing = [f for f in feature_names if f not in columns]
    extra = [c for c in columns if c not in feature_names and c not in ignored]
    expected = shown(feature_names)
    if missing and extra:
        raise DataError(f"the input lacks feature column(s) {shown(missing)} and has column(s) the model does "
                        f"not know: {shown(extra)}",
                        f"rename the columns to the names the model was trained with ({expected})")
    if missing:
        raise DataError(f"the input lacks {len(missing)} feature column(s) the model needs: {shown(missing)}",
                        f"give the columns {expected} by name")
    if extra:
        also = f" (and {', '.join(ignored)}, which is ignored)" if ignored else ""
        index = " (an 'Unnamed: 0' column is a saved index: write with to_csv(index=False))" \
            if any(c.startswith("Unnamed: ") for c in extra) else ""
        raise DataError(f"the input has column(s) the model does not know: {shown(extra)}",
                        f"drop them; the model reads {expected}{also}{index}")
    named = table.set_axis(columns, axis=1)
    return named[feature_names]


def _repeated(names: list[str]) -> list[str]:
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _by_position(X: Any, feature_names: list[str]) -> pd.DataFrame:
    """A 2-D array-like as a table with the model's column names (its columns in that order)."""
    array = _as_array(X)
    if array.ndim != 2:
        one_row = " (for one row: X.reshape(1, -1) or [row])" if array.ndim == 1 else ""
        raise DataError(f"the input has {array.ndim} dimension(s) (shape {array.shape}); predict needs rows x "
                        "features", f"give a 2-D array with one row per sample{one_row}, or a DataFrame")
    if array.shape[1] != len(feature_names):
        raise DataError(f"the input has {array.shape[1]} column(s); the model reads {len(feature_names)} "
                        f"({shown(feature_names)})", "give one column per feature in that order, or a DataFrame "
                        "with the columns by name")
    return pd.DataFrame(array, columns=feature_names, copy=False)


def _as_array(X: Any) -> np.ndarray:
    if isinstance(X, np.ndarray):
        return X
    if isinstance(X, (pd.Series, pd.Index)):
        return np.asarray(X)  # 1-D: refused with the others
    try:
        array = np.asarray(X)
        if array.dtype.kind in "USO":
            # numpy turns [[1, "abc"]] into strings: keep each value's own type for the error
            array = np.asarray(X, dtype=object)
    except (ValueError, TypeError):  # numpy's text is about its internals (inhomogeneous shapes)
        raise DataError("the input is not a table: its rows differ in length or hold sequences",
                        "give a 2-D array (every row the same length) or a DataFrame") from None
    return array


def _numbers(column: pd.Series, name: str, rows: RowNames) -> np.ndarray:
    """One column as float64; text, dates or other objects are one line naming a row."""
    kind = column.dtype.kind
    if kind in NUMERIC_KINDS:
        # nullable integer/float columns hold pd.NA: a missing value, checked with NaN
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    if isinstance(column.dtype, pd.CategoricalDtype) or kind not in "OSU":  # dates, complex, categories
        raise DataError(f"column {name!r} holds {column.dtype} values, not numbers",
                        "give numbers in every feature column")
    if pd.api.types.infer_dtype(column, skipna=True) in NUMERIC_INFERRED:
        return pd.to_numeric(column).to_numpy(dtype=np.float64, na_value=np.nan)
    label, value = _first_non_number(column)
    shown_value = f"the text {value!r}" if isinstance(value, str) else repr(value)
    raise DataError(f"column {name!r} holds {shown_value[:70]} in {rows([label])}, not a number",
                    "give numbers in every feature column (e.g. pd.to_numeric, or fix the cell)")


def _first_non_number(column: pd.Series) -> tuple[Any, Any]:
    """(row label, value) of the first value that is no number, preferring text that does
    not even read as one ("abc" before "2"); only on the way to an error."""
    present = column[column.notna()]
    try:
        unreadable = present[pd.to_numeric(present, errors="coerce").isna()]
    except (TypeError, ValueError):  # values pandas cannot even try (e.g. dicts): the type check names them
        unreadable = present.iloc[:0]
    if len(unreadable):
        return unreadable.index[0], unreadable.iloc[0]
    is_number = present.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, complex))
    bad = present[~is_number.astype(bool)]
    if len(bad) == 0:  # not expected (pandas inferred a non-number); name the first row then
        return column.index[0], column.iloc[0]
    return bad.index[0], bad.iloc[0]


def _check_finite(values: np.ndarray, names: list[str], index: pd.Index, rows: RowNames,
                  allow_missing: bool) -> None:
    """NaN (unless imputed), +-inf and magnitudes float32 cannot hold: one line naming the
    first such column and its rows."""
    checks = [(np.isinf(values), "an infinite value", "replace it with a finite number or drop the row"),
              (beyond_float32(np.nan_to_num(values, posinf=0, neginf=0)),
               f"a value beyond float32's range (|x| > {FLOAT32_MAX:.3g}, the model computes in float32)",
               "give the column in the units the run was trained on")]
    if not allow_missing:
        checks.insert(0, (np.isnan(values), "a missing value (NaN)",
                          "fill or drop those rows (the run was trained without data.nan_policy=impute)"))
    for bad, what, fix in checks:
        if bad.any():
            column = int(np.flatnonzero(bad.any(axis=0))[0])
            raise DataError(f"column {names[column]!r} has {what} in {rows(index[bad[:, column]])}", fix)
