"""Data loaders (plain arrays + metadata) and per-fold preprocessing."""

from __future__ import annotations

from qhybrid.data.dataset import Dataset
from qhybrid.schema import CsvDataSpec, FinanceDataSpec, GenomicsDataSpec


def load_dataset(spec) -> Dataset:
    """Load the data set a validated ``data`` spec names."""
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
