"""Data loaders (plain arrays + metadata) and per-fold preprocessing."""

from __future__ import annotations

from qhybrid.data.checks import check_dataset
from qhybrid.data.dataset import Dataset
from qhybrid.data.options import DATA


def load_dataset(spec) -> Dataset:
    """Load the data set a validated ``data`` spec names, checked once more as a whole: no loader
    hands the model a value outside the float32 range, or NaN unless the run imputes."""
    data = _load(spec)
    check_dataset(data, allow_nan=getattr(spec, "nan_policy", "error") == "impute")
    return data


def _load(spec) -> Dataset:
    return DATA.get(spec.name, spec.module).build(spec)


__all__ = ["Dataset", "load_dataset"]
