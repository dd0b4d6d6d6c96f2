"""Data loaders (plain arrays + metadata) and per-fold preprocessing."""

from __future__ import annotations

from qhybrid.data.dataset import Dataset
from qhybrid.data.spec import CsvDataSpec, FinanceDataSpec, GenomicsDataSpec


def load_dataset(spec) -> Dataset:
    """Load the data set a validated ``data`` spec names, checked once more as a whole: no loader
    hands the model a value outside the float32 range, or NaN unless the run imputes."""
    from qhybrid.data.checks import check_dataset

    data = _load(spec)
    check_dataset(data, allow_nan=getattr(spec, "nan_policy", "error") == "impute")
    return data


def _load(spec) -> Dataset:
    if isinstance(spec, CsvDataSpec):
        from qhybrid.data.csv_file import load_csv

        return load_csv(spec)
    if isinstance(spec, GenomicsDataSpec):
        from qhybrid.data.genomics import load_genomics

        return load_genomics(spec)
    if isinstance(spec, FinanceDataSpec):
        from qhybrid.data.finance import load_finance

        return load_finance(spec)
    from qhybrid.data.builtin import load_builtin

    return load_builtin(spec)


__all__ = ["Dataset", "load_dataset"]
