"""data=memory: a table handed to ``qhybrid.train(X=..., y=...)`` (or ``data=<DataFrame>,
target=...``) in this process, trained on like a CSV file's rows (qhybrid.api). The table
lives as long as the process: a run on it is resumed from Python with the same table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from qhybrid.data.dataset import Dataset, encode_labels, label_strings
from qhybrid.data.target import regression_values, resolve_task
from qhybrid.data.spec import DataCommon
from qhybrid.errors import ConfigError, DataError

TABLES: dict[str, pd.DataFrame] = {}


@dataclass
class MemoryDataSpec(DataCommon):
    name: str = "memory"
    key: Optional[str] = None  # set by qhybrid.train(X=..., y=...)
    target: str = "target"  # the table's label column
    positive_class: Optional[str] = None

    def check(self) -> None:
        self.check_common()
        table(self.key)


def register(frame: pd.DataFrame) -> str:
    """Keep ``frame`` for data=memory data.key=<the returned key>."""
    key = uuid.uuid4().hex
    TABLES[key] = frame
    return key


def table(key) -> pd.DataFrame:
    if key not in TABLES:
        raise ConfigError("data=memory reads a table handed to qhybrid.train(X=..., y=...) in the same Python "
                          "process, and none is there under data.key", "call qhybrid.train(X=..., y=...) from "
                          "Python, or use data=csv with a file")
    return TABLES[key]


def load_memory(spec, task: str = "auto") -> Dataset:
    frame = table(spec.key)
    features = [c for c in frame.columns if c != spec.target]
    text = [str(c) for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise DataError(f"X has columns that are not numbers: {', '.join(text[:5])}",
                        "encode them as numbers (e.g. pandas.get_dummies) or drop them")
    X = frame[features].to_numpy(dtype=np.float64)
    as_str = label_strings(frame[spec.target].to_numpy())
    task = resolve_task(as_str, task, "y", None)
    if task == "regression":
        y = regression_values(as_str, "y", None)
        return Dataset(name="memory", X=X, y=y, classes=[], feature_names=[str(c) for c in features], regression=True)
    labels, classes = encode_labels(as_str, spec.positive_class, source="y")
    return Dataset(name="memory", X=X, y=labels, classes=classes, feature_names=[str(c) for c in features])
