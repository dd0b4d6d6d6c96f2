"""Data sets bundled with scikit-learn: no download, no network."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as skd

from qhybrid.data.dataset import Dataset, encode_labels


def from_bunch(name: str, bunch, keep: list[str] | None, positive_class: str | None) -> Dataset:
    """A scikit-learn ``Bunch`` as a Dataset; ``keep``: the classes to keep (all when None)."""
    labels = np.asarray(bunch.target_names)[bunch.target]
    X = np.asarray(bunch.data, dtype=np.float64)
    if keep is not None:
        rows = np.isin(labels, keep)
        X, labels = X[rows], labels[rows]
    y, classes = encode_labels(labels, positive_class, source=f"data={name}")
    return Dataset(name=name, X=X, y=y, classes=classes, feature_names=[str(f) for f in bunch.feature_names])


def iris(spec) -> Dataset:
    return from_bunch("iris", skd.load_iris(), None, spec.positive_class)


def iris_binary(spec) -> Dataset:
    return from_bunch("iris_binary", skd.load_iris(), ["versicolor", "virginica"], spec.positive_class)


def breast_cancer(spec) -> Dataset:
    return from_bunch("breast_cancer", skd.load_breast_cancer(), None, spec.positive_class)
