"""In-fold resampling of the rows a model is fitted on (never validation or test rows)."""

from __future__ import annotations

import numpy as np

from qhybrid.errors import DataError


def smote(X: np.ndarray, y: np.ndarray, k_neighbors: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SMOTE (imbalanced-learn) on one fold's preprocessed fit rows: every class but the
    largest is topped up with synthetic rows to the largest class's count. The returned
    arrays start with ``X`` and ``y`` unchanged; the synthetic rows follow."""
    counts = np.bincount(y)
    present = counts[counts > 0]
    if present.min() == present.max():
        return X, y  # already balanced: nothing to synthesise
    smallest = int(present.min())
    if smallest < 2:
        raise DataError(f"data.imbalance=smote: a class has {smallest} row in a fold's fit rows; SMOTE interpolates "
                        "between at least two rows of a class", "use data.imbalance=class_weights, or fewer folds")
    from imblearn.over_sampling import SMOTE  # lazy: a 1 s import that only data.imbalance=smote runs need

    sampler = SMOTE(k_neighbors=min(k_neighbors, smallest - 1), random_state=seed)
    X_res, y_res = sampler.fit_resample(X, y)
    # imbalanced-learn appends the synthetic rows after the originals; the fold's row counts rely on it
    if not (np.array_equal(X_res[:len(X)], X) and np.array_equal(y_res[:len(y)], y)):
        raise RuntimeError("SMOTE reordered the original rows")
    return np.asarray(X_res, dtype=X.dtype), np.asarray(y_res, dtype=y.dtype)
