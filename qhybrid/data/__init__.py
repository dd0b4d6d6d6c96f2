"""Data loaders (plain arrays + metadata) and per-fold preprocessing."""

from __future__ import annotations

import numpy as np

from qhybrid.data.checks import check_dataset
from qhybrid.data.dataset import Dataset
from qhybrid.data.options import DATA
from qhybrid.data.target import valid_task
from qhybrid.errors import DataError


def load_dataset(spec, task: str = "auto") -> Dataset:
    """Load the data set a validated ``data`` spec names for ``task`` (auto, classification or
    regression), checked once more as a whole: no loader hands the model a value outside the
    float32 range, or NaN unless the run imputes."""
    data = _matched(_load(spec, valid_task(task)), task)
    check_dataset(data, allow_nan=getattr(spec, "nan_policy", "error") == "impute")
    return data


def _load(spec, task: str) -> Dataset:
    # a loader that reads its target itself (a CSV file) is told the task; the others' data sets
    # have a task of their own, checked below
    option = DATA.get(spec.name, spec.module)
    return option.build(spec, task) if option.extra.get("reads_task") else option.build(spec)


def _matched(data: Dataset, task: str) -> Dataset:
    """A data set with a task of its own against the task asked for: numeric classes can be
    regressed on as numbers; anything else is one line."""
    if task == "classification" and data.regression:
        raise DataError(f"task=classification, but data={data.name} has a continuous target (a regression data set)",
                        "use task=regression or task=auto")
    if task != "regression" or data.regression:
        return data
    values = np.array([_number(c) for c in data.classes], dtype=np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"task=regression needs a numeric target, and data={data.name}'s target holds classes "
                        f"({', '.join(data.classes[:5])}{', ...' if len(data.classes) > 5 else ''})",
                        "use task=auto or task=classification, or a data set with a numeric target")
    data.y, data.classes, data.regression = values[data.y], [], True
    return data


def _number(label: str) -> float:
    try:
        return float(label)
    except ValueError:
        return float("nan")


__all__ = ["Dataset", "load_dataset"]
