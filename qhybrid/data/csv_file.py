"""A user's CSV file (and an optional fixed test file with the same columns).

Every way a file can be unusable is one DataError naming the file, the problem and the fix.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from qhybrid.data.dataset import Dataset, encode_labels, existing_file
from qhybrid.data.dataset import shown_names as _shown
from qhybrid.errors import DataError, first_line

log = logging.getLogger(__name__)


def read_table(path_value: str, key: str, *, header: bool, sep: str) -> tuple[pd.DataFrame, Path]:
    path = existing_file(path_value, key)
    shown = path.resolve()
    try:
        frame = pd.read_csv(path, header=0 if header else None, sep=sep)
    except pd.errors.EmptyDataError:
        raise DataError(f"{key}: {shown} is empty", "give a CSV file with a header row and at least one data row") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{key}: {shown} could not be parsed as CSV ({first_line(err)})", "check the delimiter (data.sep) and quoting") from None
    except UnicodeDecodeError:
        raise DataError(f"{key}: {shown} is not a UTF-8 text file", "export the table as a UTF-8 CSV file") from None
    except PermissionError:
        raise DataError(f"{key}: {shown} cannot be read (permission denied)", "fix the file's permissions") from None
    if not header:
        frame.columns = [str(c) for c in frame.columns]
    if frame.shape[0] == 0:
        raise DataError(f"{key}: {shown} has a header but no data rows", "give a file with at least one sample per row")
    return frame, shown


def _time_order(column: pd.Series, shown: Path, name: str) -> np.ndarray:
    """Row order by a date/time column (parsed as dates when it is text), stable for ties."""
    values = column
    if not pd.api.types.is_numeric_dtype(column):
        values = pd.to_datetime(column, errors="coerce")
        if values.isna().any():
            bad = column[values.isna()].iloc[0]
            raise DataError(f"data.time_column={name!r} of {shown} has a value that is not a date: {bad!r}",
                            "give ISO dates (2024-01-31) or numbers")
    return np.argsort(values.to_numpy(), kind="stable")


def _select_columns(frame: pd.DataFrame, spec, shown: Path) -> list[str]:
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if spec.target is None:
        raise DataError(f"data.target is not set; the columns of {shown} are: {_shown(columns)}",
                        "name the label column, e.g. data.target=" + columns[-1])
    if spec.target not in columns:
        raise DataError(
            f"data.target={spec.target!r} is not a column of {shown} (columns: {_shown(columns)})",
            "set data.target to the label column's name",
        )
    time_column = getattr(spec, "time_column", None)
    if time_column is not None and time_column not in columns:
        raise DataError(f"data.time_column={time_column!r} is not a column of {shown} (columns: {_shown(columns)})",
                        "name the date or time column, or drop data.time_column")
    if spec.features is None:
        features = [c for c in columns if c not in (spec.target, time_column)]
    else:
        features = [str(f) for f in spec.features]
        missing = [f for f in features if f not in columns]
        if missing:
            raise DataError(
                f"data.features names columns that {shown} does not have: {_shown(missing)}",
                f"choose from: {_shown([c for c in columns if c != spec.target])}",
            )
    if not features:
        raise DataError(f"{shown} has no feature columns besides the target", "add feature columns to the file")
    non_numeric = [c for c in features if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if non_numeric:
        raise DataError(
            f"non-numeric feature columns in {shown}: {_shown(non_numeric)}",
            "encode them as numbers, or leave them out with data.features=[...]",
        )
    return features


def _handle_missing(frame: pd.DataFrame, features: list[str], target: str, policy: str, shown: Path) -> pd.DataFrame:
    target_nan = frame[target].isna()
    feature_nan = frame[features].isna()
    n_rows = int((target_nan | feature_nan.any(axis=1)).sum())
    if n_rows == 0:
        return frame
    if policy == "error":
        cols = [c for c in features if feature_nan[c].any()] + ([target] if target_nan.any() else [])
        raise DataError(
            f"{shown} has missing values (NaN) in {n_rows} rows, columns: {_shown(cols)}",
            "clean the file, or set data.nan_policy=drop (drop those rows) or data.nan_policy=impute (median, fitted per fold)",
        )
    if target_nan.any():
        # a label cannot be imputed: those rows are dropped under both policies
        log.warning("%s: dropping %d rows with no label in column %r", shown.name, int(target_nan.sum()), target)
        frame = frame.loc[~target_nan]
    if policy == "drop":
        keep = ~frame[features].isna().any(axis=1)
        if (~keep).any():
            log.warning("%s: dropping %d rows with missing feature values (data.nan_policy=drop)", shown.name, int((~keep).sum()))
        frame = frame.loc[keep]
    if frame.shape[0] == 0:
        raise DataError(f"{shown}: no rows are left after dropping missing values", "clean the file or use data.nan_policy=impute")
    return frame


def load_csv(spec) -> Dataset:
    frame, shown = read_table(spec.path, "data.path", header=spec.header, sep=spec.sep)
    features = _select_columns(frame, spec, shown)
    if spec.time_column is not None:
        if spec.test_path:
            raise DataError("data.time_column with data.test_path: a time series is split forward by cv=walk_forward",
                            "drop data.test_path (the last folds are the latest rows), or data.time_column")
        order = _time_order(frame[spec.time_column], shown, spec.time_column)
        frame = frame.iloc[order].reset_index(drop=True)
    frame = _handle_missing(frame, features, spec.target, spec.nan_policy, shown)
    n_train = frame.shape[0]
    fixed_test = None
    if spec.test_path:
        test, test_shown = read_table(spec.test_path, "data.test_path", header=spec.header, sep=spec.sep)
        test.columns = [str(c) for c in test.columns]
        missing = [c for c in frame.columns if c not in test.columns]
        extra = [c for c in test.columns if c not in frame.columns]
        if missing or extra:
            parts = ([f"missing {_shown(missing)}"] if missing else []) + ([f"extra {_shown(extra)}"] if extra else [])
            raise DataError(
                f"data.test_path={test_shown} has different columns than data.path ({'; '.join(parts)})",
                "give both files the same columns",
            )
        bad = [c for c in features if not (pd.api.types.is_numeric_dtype(test[c]) or pd.api.types.is_bool_dtype(test[c]))]
        if bad:
            raise DataError(f"non-numeric feature columns in {test_shown}: {_shown(bad)}", "encode them as numbers in both files")
        test = _handle_missing(test, features, spec.target, spec.nan_policy, test_shown)
        unseen = sorted(set(map(str, test[spec.target])) - set(map(str, frame[spec.target])))
        if unseen:
            raise DataError(
                f"data.test_path={test_shown} has labels that data.path never shows: {_shown(unseen)}",
                "a model cannot predict a class it was not trained on: add such rows to the training file",
            )
        frame = pd.concat([frame, test[frame.columns]], ignore_index=True)
        fixed_test = np.arange(n_train, frame.shape[0])
    X = frame[features].to_numpy(dtype=np.float64)
    y, classes = encode_labels(frame[spec.target].to_numpy(), spec.positive_class, source=str(shown))
    return Dataset(name="csv", X=X, y=y, classes=classes, feature_names=features, fixed_test=fixed_test,
                   time_ordered=spec.time_column is not None)
