"""data=memory: a table handed to ``qhybrid.train(X=..., y=...)`` (or ``data=<DataFrame>,
target=...``) in this process, trained on like a CSV file's rows (qhybrid.api). Its key is a
hash of its content and label column: the same table is the same data (a run on it resumes,
from Python, with the same table; the report compares runs on it), another table another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from qhybrid.data.dataset import Dataset, encode_labels, label_strings, shown_names
from qhybrid.data.target import regression_values, resolve_task
from qhybrid.data.spec import DataCommon
from qhybrid.errors import ConfigError, DataError

TABLES: dict[str, tuple[pd.DataFrame, str]] = {}  # key -> (table, its label column)


@dataclass
class MemoryDataSpec(DataCommon):
    name: str = "memory"
    key: Optional[str] = None  # set by qhybrid.train(X=..., y=...): the table's content hash
    positive_class: Optional[str] = None

    def check(self) -> None:
        self.check_common()
        table(self.key)


def register(frame: pd.DataFrame, target: str) -> str:
    """Keep ``frame`` (its label column ``target``) for data=memory data.key=<the returned key>."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(repr((list(frame.columns), target)).encode())
    key = digest.hexdigest()[:32]
    TABLES[key] = (frame, target)
    return key


def table(key) -> tuple[pd.DataFrame, str]:
    if key not in TABLES:
        raise ConfigError("data=memory reads a table handed to qhybrid.train(X=..., y=...) in the same Python "
                          "process, and none is there under data.key", "call qhybrid.train(X=..., y=...) from "
                          "Python, or use data=csv with a file")
    return TABLES[key]


def load_memory(spec, task: str = "auto") -> Dataset:
    frame, target = table(spec.key)
    features = [c for c in frame.columns if c != target]
    text = [str(c) for c in features if not pd.api.types.is_numeric_dtype(frame[c])
            or pd.api.types.is_complex_dtype(frame[c])]
    if text:
        raise DataError(f"X has columns that are not real numbers: {', '.join(text[:5])}",
                        "encode them as numbers (e.g. pandas.get_dummies) or drop them")
    unlabelled = np.flatnonzero(frame[target].isna().to_numpy())
    if len(unlabelled):
        raise DataError(f"y is missing (NaN or None) on {len(unlabelled)} row(s): {shown_names(unlabelled)}",
                        "drop those rows or give them their labels")
    X = frame[features].to_numpy(dtype=np.float64)
    as_str = label_strings(frame[target].to_numpy())
    task = resolve_task(as_str, task, "y", None)
    if task == "regression":
        y = regression_values(as_str, "y", None)
        return Dataset(name="memory", X=X, y=y, classes=[], feature_names=[str(c) for c in features], regression=True)
    labels, classes = encode_labels(as_str, spec.positive_class, source="y")
    return Dataset(name="memory", X=X, y=labels, classes=classes, feature_names=[str(c) for c in features])
