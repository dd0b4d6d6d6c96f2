"""Checks on the values of a user's table, vectorised over the whole table.

The value rule: a feature value must be a finite number with |x| <= 3.4028235e38, the largest
float32 (the network computes in float32, so anything larger is inf to it). Below that bound
the per-fold scaler's float64 arithmetic is safe too: a square is at most 1.2e77 and a sum of
squares over even 1e12 rows stays far below float64's 1.8e308, so no smaller bound is needed.
``inf``, ``-inf`` and ``1e309`` (which parses as inf) break the rule. data.nan_policy applies
to such values as to missing ones: error refuses them, drop drops their rows, impute treats
them as missing (the median imputer is fitted per fold).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from qhybrid.data.dataset import shown_names
from qhybrid.data.table import Table, listing
from qhybrid.errors import DataError

log = logging.getLogger(__name__)

FLOAT32_MAX = float(np.finfo(np.float32).max)
VALUE_RULE = "finite and within +-3.4e38, the float32 range"
OUT_OF_RANGE = f"inf or |x| > {FLOAT32_MAX:.3g}"
POLICY_FIX = ("set data.nan_policy=drop (drop those rows) or data.nan_policy=impute (treat them as missing: "
              "median, fitted per fold)")


def beyond_float32(values: np.ndarray) -> np.ndarray:
    """inf, -inf and magnitudes a float32 network cannot hold; NaN (missing) is not among them."""
    with np.errstate(invalid="ignore"):
        return np.abs(values) > FLOAT32_MAX


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _quoted(names) -> str:
    return shown_names([repr(str(n)) for n in names], limit=8)


# feature columns as numbers


def _as_numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, mask of cells that hold text). Blank cells are missing; True/False are 1/0."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(column), dtype=bool)
    text = column.astype("string").str.strip()
    blank = text.isna() | text.eq("")
    words = text.str.lower().map({"true": "1", "false": "0"})
    text = words.fillna(text)
    numbers = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return numbers, (~blank).to_numpy(dtype=bool) & np.isnan(numbers)


def numeric_features(table: Table, features: list[str]) -> np.ndarray:
    """The feature columns as one float64 array (NaN: missing), or one DataError naming the
    first column with text in it, the cell's line and value."""
    X = np.empty((table.frame.shape[0], len(features)), dtype=np.float64)
    texts = {}
    for j, name in enumerate(features):  # per column: each column is converted whole
        X[:, j], text = _as_numbers(table.frame[name])
        if text.any():
            texts[name] = text
    if texts:
        raise _text_error(table, X, features, texts)
    return X


def _text_error(table: Table, X: np.ndarray, features: list[str], texts: dict[str, np.ndarray]) -> DataError:
    name, text = next(iter(texts.items()))
    rows = np.flatnonzero(text)
    first = f"{str(table.frame[name].iloc[rows[0]])!r} on {table.rows_text(rows[:1])}"
    if not np.isfinite(X[:, features.index(name)]).any():
        others = f", and {_quoted(list(texts)[1:])}" if len(texts) > 1 else ""
        return DataError(f"non-numeric feature columns in {table.where}: {name!r} (e.g. {first}){others}",
                         "one-hot encode them with data.categorical=[...], or leave them out with "
                         "data.drop_columns=[...]")
    others = f" (text also in column(s) {_quoted(list(texts)[1:])})" if len(texts) > 1 else ""
    value = str(table.frame[name].iloc[rows[0]])
    hint = " (a decimal comma? write 1.5, not 1,5)" if re.fullmatch(r"\s*[-+]?\d+,\d+\s*", value) else ""
    return DataError(f"{table.where}: column {name!r} mixes numbers and text: {first}{hint}; "
                     f"{counted(len(rows), 'text cell')} in all, on {table.rows_text(rows)}{others}",
                     "correct those cells (leave a missing value empty: data.nan_policy handles it), or leave the "
                     "column out with data.features=[...]")


def refuse_empty_columns(table: Table, X: np.ndarray, features: list[str]) -> None:
    empty = np.isnan(X).all(axis=0)
    if empty.any():
        names = [f for f, e in zip(features, empty) if e]
        raise DataError(f"{table.where}: column(s) {_quoted(names)} have no usable value: empty (or, with "
                        "data.nan_policy=impute, out of range) in every row",
                        "fill them, or leave them out with data.features=[...]")


def warn_constant_columns(X: np.ndarray, features: list[str], where: str) -> None:
    """A feature with one value is harmless (the scaler maps it to 0) but useless: say so."""
    if X.shape[0] < 2:
        return
    with np.errstate(invalid="ignore"):
        constant = (np.nanmax(X, axis=0) == np.nanmin(X, axis=0)) if X.size else np.zeros(0, dtype=bool)
    if constant.any():
        names = [f for f, c in zip(features, constant) if c]
        log.warning("%s: feature column(s) %s hold a single value in every row: they carry no information",
                    where, _quoted(names))


# data.nan_policy over missing and out-of-range values


def _values_problem(table: Table, bad: np.ndarray, features: list[str]) -> str:
    rows = np.flatnonzero(bad.any(axis=1))
    columns = [f for f, b in zip(features, bad.any(axis=0)) if b]
    j = int(np.flatnonzero(bad[rows[0]])[0])
    value = table.frame[features[j]].iloc[rows[0]]
    return (f"{table.where}: column(s) {_quoted(columns)} hold values a float32 network cannot use (a feature must "
            f"be {VALUE_RULE}): {value} in {features[j]!r} on {table.rows_text(rows[:1])}; "
            f"{counted(len(rows), 'row')} in all, on {table.rows_text(rows)}")


def apply_nan_policy(table: Table, X: np.ndarray, no_label: np.ndarray, features: list[str], target: str,
                     policy: str) -> tuple[np.ndarray, np.ndarray]:
    """(X of the kept rows, mask of the kept rows). Out-of-range values are refused, dropped with
    their rows or become missing, as data.nan_policy says; a row without a label is dropped
    (a label cannot be imputed) unless the policy is error."""
    bad = beyond_float32(X)
    missing = np.isnan(X)
    if policy == "error":
        if bad.any():
            raise DataError(_values_problem(table, bad, features), "correct those values, or " + POLICY_FIX)
        if missing.any() or no_label.any():
            rows = np.flatnonzero(missing.any(axis=1) | no_label)
            columns = [f for f, m in zip(features, missing.any(axis=0)) if m] + ([target] if no_label.any() else [])
            raise DataError(f"{table.where} has missing values (NaN or empty cells) in {counted(len(rows), 'row')}, "
                            f"column(s) {_quoted(columns)}: {table.rows_text(rows)}",
                            "clean the file, or " + POLICY_FIX)
        return X, np.ones(len(X), dtype=bool)
    keep = ~no_label
    if no_label.any():
        log.warning("%s: dropping %s with no label in column %r (%s)", table.where,
                    counted(int(no_label.sum()), "row"), target, table.rows_text(np.flatnonzero(no_label)))
    if policy == "drop":
        for mask, why in ((bad.any(axis=1), f"feature values outside the float32 range ({OUT_OF_RANGE})"),
                          (missing.any(axis=1), "missing feature values")):
            rows = np.flatnonzero(mask & keep)
            if rows.size:
                log.warning("%s: dropping %s with %s (data.nan_policy=drop): %s", table.where,
                            counted(rows.size, "row"), why, table.rows_text(rows))
            keep &= ~mask
    elif bad[keep].any():
        log.warning("%s: %s outside the float32 range (%s) are treated as missing and imputed per fold "
                    "(data.nan_policy=impute): %s", table.where, counted(int(bad[keep].sum()), "value"), OUT_OF_RANGE,
                    table.rows_text(np.flatnonzero(bad.any(axis=1) & keep)))
        X = np.where(bad, np.nan, X)
    if not keep.any():
        raise DataError(f"{table.where}: no rows are left after dropping rows with missing or out-of-range values "
                        f"(data.nan_policy={policy})", "clean the file, or use data.nan_policy=impute")
    return X[keep], keep


# labels


def read_labels(table: Table, target: str) -> tuple[np.ndarray, np.ndarray]:
    """(labels as stripped strings, mask of rows without a label). The column was read as text,
    so '007' stays '007'; labels differing only in surrounding spaces are one class."""
    raw = table.frame[target]
    text = raw.astype("string").str.strip()
    no_label = (text.isna() | text.eq("")).to_numpy(dtype=bool)
    if no_label.all():
        raise DataError(f"{table.where}: the label column data.target={target!r} is empty in every row",
                        "set data.target to the column that holds the classes")
    numbers = pd.to_numeric(text.where(~no_label), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.flatnonzero(np.isinf(numbers))
    if infinite.size:
        raise DataError(f"{table.where}: the label column {target!r} holds {text.iloc[infinite[0]]!r} on "
                        f"{table.rows_text(infinite)}: a target is a class or a finite number, not an infinite one",
                        "correct those values, or drop those rows")
    labels = text.to_numpy(dtype=object, na_value=None)
    if raw.nunique() > text.nunique():
        log.warning("%s: labels that differ only in surrounding spaces are taken as one class", table.where)
    return labels, no_label


# the assembled data set


def check_dataset(data, allow_nan: bool) -> None:
    """The last check before a model sees the data, whatever the loader: X is 2-D float64 and
    finite within the float32 range (NaN only when the loader imputes), y indexes the classes
    (or, for regression, holds finite float64 values that vary)."""
    X = data.X
    if X.ndim != 2 or X.dtype != np.float64 or X.shape[1] != len(data.feature_names):
        raise RuntimeError(f"{data.name}: the loader built X with shape {X.shape} and dtype {X.dtype} for "
                           f"{len(data.feature_names)} feature names")
    _check_target_array(data, np.asarray(data.y), X.shape[0])
    bad = beyond_float32(X) | (np.isnan(X) if not allow_nan else False)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        columns = [f for f, b in zip(data.feature_names, bad.any(axis=0)) if b]
        what = "values outside the float32 range or missing" if not allow_nan else "values outside the float32 range"
        raise DataError(f"data={data.name}: the assembled features hold {what} in column(s) {_quoted(columns)} on "
                        f"{counted(len(rows), 'row')} ({listing(rows, 'data row')})",
                        "correct those values in the input" + (", or " + POLICY_FIX if data.name == "csv" else ""))


def _check_target_array(data, y: np.ndarray, n_rows: int) -> None:
    if y.shape != (n_rows,):
        raise RuntimeError(f"{data.name}: the loader built {y.shape} targets for {n_rows} rows")
    if not data.regression:
        if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= data.n_classes)):
            raise RuntimeError(f"{data.name}: the loader built labels that do not index its {data.n_classes} classes")
        return
    if y.dtype != np.float64 or data.classes:
        raise RuntimeError(f"{data.name}: a regression data set needs float64 targets and no classes")
    bad = ~np.isfinite(y) | beyond_float32(y)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(f"data={data.name}: the regression target is missing, infinite or beyond the float32 range on "
                        f"{counted(len(rows), 'row')} ({listing(rows, 'data row')})",
                        "give every row a finite target value")
    if y.size and y.min() == y.max():
        raise DataError(f"data={data.name}: the regression target holds a single value ({y[0]:g}) in every row: "
                        "nothing to regress", "set data.target to a column whose values vary")
