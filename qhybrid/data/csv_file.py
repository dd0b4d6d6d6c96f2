"""A user's CSV file (and an optional fixed test file with the same columns).

Every way a file can be unusable is one DataError naming the file, the problem (column, line,
value) and the fix; nothing is trained on a table that differs silently from the file. Reading
is qhybrid.data.table's, the value rules qhybrid.data.checks'.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

import qhybrid.data.checks as checks
from qhybrid.data.dataset import Dataset, category_codes, category_text, check_target, encode_labels
from qhybrid.data.dataset import shown_names as _shown
from qhybrid.data.table import Table, read_table, separator, unnamed_to_ignore
from qhybrid.data.target import regression_values
from qhybrid.errors import DataError

log = logging.getLogger(__name__)


def _time_order(table: Table, name: str) -> np.ndarray:
    """Row order by a date/time column (parsed as dates when it is text), stable for ties."""
    column = table.frame[name]
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
    else:
        values = pd.to_datetime(column, errors="coerce")
        bad = values.isna().to_numpy()
        values = values.to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = "an empty cell" if pd.isna(column.iloc[rows[0]]) else repr(str(column.iloc[rows[0]]))
        raise DataError(f"{table.where}: data.time_column={name!r} holds {shown} on {table.rows_text(rows[:1])}, "
                        f"not a date or time ({len(rows)} such row(s): {table.rows_text(rows)})",
                        "give ISO dates (2024-01-31) or numbers in every row")
    return np.argsort(values, kind="stable")


def _near(name: str, columns: list[str]) -> str:
    """' (did you mean ' Age'?)' when the name matches a column but for case and spaces."""
    folded = [c for c in columns if c.strip().casefold() == str(name).strip().casefold()]
    return f" (did you mean {folded[0]!r}?)" if folded else ""


def _select_columns(table: Table, spec) -> list[str]:
    columns = list(table.frame.columns)
    where = table.where
    if spec.target is None:
        raise DataError(f"data.target is not set; the columns of {table.path} are: {_shown(columns)}",
                        "name the label column, e.g. data.target=" + columns[-1])
    if spec.target not in columns:
        raise DataError(
            f"data.target={spec.target!r} is not a column of {table.path}{_near(spec.target, columns)} "
            f"(columns: {_shown(columns)})",
            "set data.target to the label column's name",
        )
    time_column = getattr(spec, "time_column", None)
    if time_column is not None and time_column not in columns:
        raise DataError(f"data.time_column={time_column!r} is not a column of {table.path}"
                        f"{_near(time_column, columns)} (columns: {_shown(columns)})",
                        "name the date or time column, or drop data.time_column")
    if time_column is not None and time_column == spec.target:
        raise DataError(f"data.target and data.time_column are both {spec.target!r}: the label cannot be the time",
                        "set data.target to the class column")
    layout = _layout_columns(table, spec, columns)
    if spec.features is None:
        left_out = {spec.target, time_column, *layout, *unnamed_to_ignore(table)}
        features = [c for c in columns if c not in left_out]
    else:
        features = [str(f) for f in spec.features]
        twice = sorted({f for f in features if features.count(f) > 1})
        if twice:
            raise DataError(f"data.features lists {_shown(twice)} more than once", "list each column once")
        missing = [f for f in features if f not in columns]
        if missing:
            hint = _near(missing[0], columns)
            raise DataError(
                f"data.features names columns that {table.path} does not have: {_shown(missing)}{hint}",
                f"choose from: {_shown([c for c in columns if c != spec.target])}",
            )
    if not features:
        raise DataError(f"{where} has no feature columns besides the target"
                        f"{' and the columns data.drop_columns, id_column and time_column take' if layout else ''}",
                        "leave some columns to be features" if layout else "add feature columns to the file")
    return features


def _layout_columns(table: Table, spec, columns: list[str]) -> list[str]:
    """data.id_column and data.drop_columns, each a column of the file."""
    named = {f"data.id_column={spec.id_column!r}": spec.id_column} if getattr(spec, "id_column", None) else {}
    named.update({f"data.drop_columns has {c!r}, which": c for c in getattr(spec, "drop_columns", None) or []})
    categorical = {f"data.categorical has {c!r}, which": c for c in getattr(spec, "categorical", None) or []}
    for key, column in {**named, **categorical}.items():
        if column not in columns:
            raise DataError(f"{key} is not a column of {table.path}{_near(column, columns)} (columns: "
                            f"{_shown(columns)})", "name a column of the file")
    return list(named.values())


def _ids(table: Table, spec) -> "pd.DataFrame | None":
    """The rows' identifiers (data.id_column), in the rows' order: predictions.csv carries them."""
    if not getattr(spec, "id_column", None):
        return None
    ids = table.frame[spec.id_column]
    repeated = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(repeated):  # allowed (visits of one patient), but predictions.csv cannot tell those rows apart by id
        log.warning("data.id_column=%r repeats %d id(s) (e.g. %r on %d rows): predictions.csv has their rows "
                    "under the same id", spec.id_column, repeated.nunique(), repeated.iloc[0],
                    int((ids == repeated.iloc[0]).sum()))
    return pd.DataFrame({spec.id_column: ids.to_numpy()})


def categories_of(table: Table, spec) -> dict[str, list[str]]:
    """data.categorical's columns and their categories: the training file's distinct values,
    sorted (a value the folds' fit rows never show is encoded as no category)."""
    found = {}
    for column in getattr(spec, "categorical", None) or []:
        found[column] = sorted(set(category_text(table.frame[column]).dropna()) - {""})
        if not found[column]:
            raise DataError(f"data.categorical has {column!r}, which is empty in every row of {table.where}",
                            "leave it out with data.drop_columns, or fill it in")
    return found



def _clean_part(table: Table, features: list[str], spec, task: str,
                categories: dict[str, list[str]] | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(float64 features, labels as strings or regression values as float64, the task) of one
    file's usable rows, data.nan_policy applied (to the numeric features; a categorical one's
    missing value is no category). ``task``: auto, or the task already resolved on the
    training file."""
    categories = categories or {}
    labels, no_label = checks.read_labels(table, spec.target)
    task = check_target(labels[~no_label], table.where, spec.target, task)
    if task == "regression":
        present = np.flatnonzero(~no_label)
        values = np.full(len(labels), np.nan)
        values[present] = regression_values(labels[present], table.where, spec.target,
                                            lambda rows: table.rows_text(present[rows]))
        labels = values
    numeric = [f for f in features if f not in categories]
    X = checks.numeric_features(table, numeric)
    checks.refuse_empty_columns(table, X, numeric)
    X, keep = checks.apply_nan_policy(table, X, no_label, numeric, spec.target, spec.nan_policy)
    checks.refuse_empty_columns(table, X, numeric)  # impute: a column of out-of-range values only
    table.frame = table.frame[keep]  # its index keeps each row's place in the file, for messages
    if categories:
        columns = iter(X.T)
        X = np.column_stack([category_codes(table.frame[f], categories[f]) if f in categories else next(columns)
                             for f in features])
    return X, labels[keep], task


def _same_columns(test: Table, train: Table) -> None:
    missing = [c for c in train.frame.columns if c not in test.frame.columns]
    extra = [c for c in test.frame.columns if c not in train.frame.columns]
    if missing or extra:
        parts = ([f"missing {_shown(missing)}"] if missing else []) + ([f"extra {_shown(extra)}"] if extra else [])
        raise DataError(
            f"data.test_path={test.path} has different columns than data.path ({'; '.join(parts)})",
            "give both files the same columns",
        )


def _read(spec, path_value: str, key: str) -> Table:
    # labels and identifiers are text: 007 stays 007
    texts = (spec.target, *([spec.id_column] if getattr(spec, "id_column", None) else []),
             *(getattr(spec, "categorical", None) or []))
    return read_table(path_value, key, header=spec.header, sep=separator(spec.sep), text_columns=texts)


def _refuse_shared_rows(X: np.ndarray, labels: np.ndarray, X_test: np.ndarray, labels_test: np.ndarray,
                       test: Table) -> None:
    """Test rows that are also training rows (features and label alike) make the held-out
    score a training score: a copied file, or overlapping exports."""
    def keys(X_part: np.ndarray, labels_part: np.ndarray) -> pd.Index:
        frame = pd.DataFrame(np.round(X_part, 12))
        frame["label"] = np.asarray(labels_part, dtype=str)
        return pd.Index(pd.util.hash_pandas_object(frame, index=False).to_numpy())

    shared = keys(X_test, labels_test).isin(keys(X, labels))
    if shared.mean() > 0.5:
        raise DataError(f"{test.where}: {int(shared.sum())} of its {len(shared)} rows are also rows of data.path "
                        f"({test.rows_text(np.flatnonzero(shared))}): the held-out score would be a training score",
                        "give a test file of rows the training file does not hold")
    if shared.any():
        log.warning("%s: %d test row(s) also appear in data.path (%s): the held-out score is optimistic for them",
                    test.where, int(shared.sum()), test.rows_text(np.flatnonzero(shared)))


def load_csv(spec, task: str = "auto") -> Dataset:
    """The CSV file as a data set; its target holds classes or (task=regression, or task=auto
    with a continuous column: qhybrid.data.target) the values to regress."""
    table = _read(spec, spec.path, "data.path")
    features = _select_columns(table, spec)
    if spec.time_column is not None:
        if spec.test_path:
            raise DataError("data.time_column with data.test_path: a time series is split forward by cv=walk_forward",
                            "drop data.test_path (the last folds are the latest rows), or data.time_column")
        # the index keeps each row's place in the file, for messages
        table.frame = table.frame.iloc[_time_order(table, spec.time_column)]
    categories = categories_of(table, spec)
    X, labels, task = _clean_part(table, features, spec, task, categories)
    ids = _ids(table, spec)
    fixed_test = None
    if spec.test_path:
        if Path(spec.test_path).expanduser().resolve() == Path(spec.path).expanduser().resolve():
            raise DataError(f"data.test_path is data.path ({table.path}): the held-out score would be measured "
                            "on the rows the model was trained on", "give a separate test file, or cross-validate "
                            "without data.test_path")
        test = _read(spec, spec.test_path, "data.test_path")
        _same_columns(test, table)
        X_test, labels_test, _ = _clean_part(test, features, spec, task, categories)
        ids = pd.concat([ids, _ids(test, spec)], ignore_index=True) if ids is not None else None
        unseen = [] if task == "regression" else sorted(set(labels_test.tolist()) - set(labels.tolist()))
        if unseen:
            raise DataError(
                f"data.test_path={test.path} has labels that data.path never shows: {_shown(unseen)}",
                "a model cannot predict a class it was not trained on: add such rows to the training file",
            )
        _refuse_shared_rows(X, labels, X_test, labels_test, test)
        fixed_test = np.arange(len(X), len(X) + len(X_test))
        X, labels = np.vstack([X, X_test]), np.concatenate([labels, labels_test])
    checks.warn_constant_columns(X, features, table.where)
    if task == "regression":
        y, classes = labels.astype(np.float64), []
    else:
        y, classes = encode_labels(labels, spec.positive_class, source=table.where, target=spec.target)
    return Dataset(name="csv", X=X, y=y, classes=classes, feature_names=features, fixed_test=fixed_test,
                   time_ordered=spec.time_column is not None, regression=task == "regression", meta=ids,
                   categories=categories or None)
