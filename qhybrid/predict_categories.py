"""An input's categorical columns (data.categorical) encoded as the run encoded its training
file's: each value's index among the training categories, a value training never saw as no
category (all its one-hot columns 0), which a warning names."""

from __future__ import annotations

import warnings

import numpy as np

from qhybrid.data.dataset import category_codes
from qhybrid.errors import QHybridError


def encode_categories(table, categories: dict[str, list[str]]):
    """``table`` (a DataFrame) with its categorical columns as codes; ``categories``: column
    name -> the training categories."""
    if not categories:
        return table
    table = table.copy()
    for name, names in categories.items():
        if name in table.columns:
            codes = category_codes(table[name], names)
            _warn_unseen(name, table[name], codes)
            table[name] = codes
    return table


def refuse_categorical_array(X, categories: dict[str, list[str]]):
    """An array has no column names to read categories by: refused for a run that has them."""
    if categories:
        raise QHybridError(f"this run encodes the categorical column(s) {', '.join(map(repr, categories))} from "
                           "their values, which an array without column names cannot give",
                           "pass a DataFrame with the columns by name")
    return X


def _warn_unseen(column: str, values, codes: np.ndarray) -> None:
    unseen = (codes < 0) & values.notna().to_numpy() & (values.astype("string").str.strip() != "").to_numpy()
    if unseen.any():
        shown = sorted(set(values[unseen].astype(str)))
        warnings.warn(f"column {column!r} has value(s) the training data never had on {int(unseen.sum())} row(s) "
                      f"({', '.join(map(repr, shown[:5]))}{', ...' if len(shown) > 5 else ''}): predicted with "
                      "no category for them", UserWarning, stacklevel=5)
