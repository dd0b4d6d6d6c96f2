"""Classification and regression metrics (scikit-learn), per fold and summarised over folds.

Binary tasks: class index 1 is the positive class; precision/recall/f1 are about it, and
sensitivity/specificity are added. Multiclass: macro averages; ROC-AUC is one-vs-rest.
Regression: R², RMSE and MAE in the target's own units. A metric that is undefined on a fold
(e.g. ROC-AUC with one class in the test part, R² of a test part whose target is constant) is
NaN there and written as null.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.preprocessing import label_binarize


def _safe(fn, *args, **kwargs) -> float:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)  # e.g. "y_pred contains classes not in y_true"
            return float(fn(*args, **kwargs))
    except ValueError:
        return float("nan")


def _auc_metrics(y: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, float]:
    present = np.unique(y)
    if n_classes == 2:
        if len(present) < 2:
            return {"roc_auc": float("nan"), "pr_auc": float("nan")}
        return {
            "roc_auc": _safe(skm.roc_auc_score, y, proba[:, 1]),
            "pr_auc": _safe(skm.average_precision_score, y, proba[:, 1]),
        }
    # one-vs-rest macro over the classes present in y (a class absent from a test part has
    # no defined curve); with all classes present this is sklearn's multi_class="ovr".
    onehot = label_binarize(y, classes=np.arange(n_classes))
    roc, ap = [], []
    for c in present:
        if onehot[:, c].min() == onehot[:, c].max():
            continue
        roc.append(_safe(skm.roc_auc_score, onehot[:, c], proba[:, c]))
        ap.append(_safe(skm.average_precision_score, onehot[:, c], proba[:, c]))
    if not roc:
        return {"roc_auc": float("nan"), "pr_auc": float("nan")}
    return {"roc_auc": float(np.mean(roc)), "pr_auc": float(np.mean(ap))}


def _prf_args(n_classes: int) -> dict:
    if n_classes == 2:
        return dict(average="binary", pos_label=1, zero_division=0)
    return dict(labels=np.arange(n_classes), average="macro", zero_division=0)


def _sens_spec(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    sensitivity = float(tp / (tp + fn)) if tp + fn else float("nan")
    specificity = float(tn / (tn + fp)) if tn + fp else float("nan")
    return sensitivity, specificity


@dataclass(frozen=True)
class Metric:
    """One metric: how it is computed from (y, proba, pred, n_classes), and the facts every
    other module asks of it (early stopping's mode, the report's "best", which tasks have it)."""

    name: str
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray, int], float]
    lower_is_better: bool = False
    binary_only: bool = False
    regression: bool = False  # computed from (true values, predicted values) instead of classes
    bounds: tuple[float, float] = (0.0, 1.0)  # the values it can take (plots clip error bars to them)


# each computes one metric only (early stopping evaluates one of these every epoch); a new
# metric is one entry here
REGISTRY: dict[str, Metric] = {m.name: m for m in (
    Metric("accuracy", lambda y, p, pred, c: _safe(skm.accuracy_score, y, pred)),
    Metric("balanced_accuracy", lambda y, p, pred, c: _safe(skm.balanced_accuracy_score, y, pred)),
    Metric("precision", lambda y, p, pred, c: _safe(skm.precision_score, y, pred, **_prf_args(c))),
    Metric("recall", lambda y, p, pred, c: _safe(skm.recall_score, y, pred, **_prf_args(c))),
    Metric("f1", lambda y, p, pred, c: _safe(skm.f1_score, y, pred, **_prf_args(c))),
    Metric("roc_auc", lambda y, p, pred, c: _auc_metrics(y, p, c)["roc_auc"]),
    Metric("pr_auc", lambda y, p, pred, c: _auc_metrics(y, p, c)["pr_auc"]),
    Metric("log_loss", lambda y, p, pred, c: _safe(skm.log_loss, y, p, labels=np.arange(c)), lower_is_better=True,
           bounds=(0.0, np.inf)),
    Metric("sensitivity", lambda y, p, pred, c: _sens_spec(y, pred)[0], binary_only=True),
    Metric("specificity", lambda y, p, pred, c: _sens_spec(y, pred)[1], binary_only=True),
    # force_finite=False: R² of a constant test part is undefined (NaN), not scikit-learn's 0 or 1
    Metric("r2", lambda y, v, pred, c: _finite(_safe(skm.r2_score, y, v, force_finite=False)), regression=True,
           bounds=(-np.inf, 1.0)),
    Metric("rmse", lambda y, v, pred, c: _safe(skm.root_mean_squared_error, y, v), lower_is_better=True,
           regression=True, bounds=(0.0, np.inf)),
    Metric("mae", lambda y, v, pred, c: _safe(skm.mean_absolute_error, y, v), lower_is_better=True, regression=True,
           bounds=(0.0, np.inf)),
)}
SCALAR_METRICS = tuple(name for name, m in REGISTRY.items() if not m.binary_only and not m.regression)
BINARY_EXTRAS = tuple(name for name, m in REGISTRY.items() if m.binary_only)
REGRESSION_METRICS = tuple(name for name, m in REGISTRY.items() if m.regression)
METRICS = SCALAR_METRICS + BINARY_EXTRAS + REGRESSION_METRICS
BINARY_ONLY_MONITORS = tuple(f"val_{m}" for m in BINARY_EXTRAS)


def _finite(value: float) -> float:
    return value if np.isfinite(value) else float("nan")


def is_regression_metric(name: str) -> bool:
    """Whether a metric (or monitor, val_<metric>) is a regression one; val_loss is neither."""
    bare = name.removeprefix("val_")
    return bare in REGISTRY and REGISTRY[bare].regression


def lower_is_better(name: str) -> bool:
    """The one place that says which way a metric (or a monitor, val_<metric>) improves; the
    training loss is lower-is-better, and a name qhybrid does not know is taken as a score."""
    bare = name.removeprefix("val_").removeprefix("train_")
    return bare == "loss" or (bare in REGISTRY and REGISTRY[bare].lower_is_better)


def metric_names(n_classes: int, regression: bool = False) -> tuple[str, ...]:
    if regression:
        return REGRESSION_METRICS
    return SCALAR_METRICS + (BINARY_EXTRAS if n_classes == 2 else ())


def _check(y: np.ndarray, proba: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape != (len(y), n_classes):
        raise ValueError(f"proba must have shape ({len(y)}, {n_classes}), got {proba.shape}")
    return y, proba


def compute_metrics(y: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, object]:
    """All metrics for one fold. ``proba`` is (n, n_classes), rows summing to 1."""
    y, proba = _check(y, proba, n_classes)
    pred = proba.argmax(axis=1)
    out: dict[str, object] = {}
    for name in SCALAR_METRICS:
        if name == "pr_auc":
            continue  # computed together with roc_auc
        if name == "roc_auc":
            out.update(_auc_metrics(y, proba, n_classes))
        else:
            out[name] = REGISTRY[name].compute(y, proba, pred, n_classes)
    if n_classes == 2:
        out["sensitivity"], out["specificity"] = _sens_spec(y, pred)
    out["confusion_matrix"] = skm.confusion_matrix(y, pred, labels=np.arange(n_classes)).tolist()
    return {k: out[k] for k in (*metric_names(n_classes), "confusion_matrix")}


def fold_metrics(y: np.ndarray, outputs: np.ndarray, n_classes: int, regression: bool = False) -> dict[str, object]:
    """Every metric of the task: from class probabilities, or a regression's predicted values."""
    return regression_metrics(y, outputs) if regression else compute_metrics(y, outputs, n_classes)


def regression_metrics(y: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Every regression metric for one fold: true and predicted values, in the target's units."""
    y, values = _check_values(y, values)
    return {name: REGISTRY[name].compute(y, values, values, 0) for name in REGRESSION_METRICS}


def _check_values(y: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, values = np.asarray(y, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if values.shape != y.shape or y.ndim != 1:
        raise ValueError(f"regression metrics need true and predicted values of shape ({len(y)},), got {y.shape} "
                         f"and {values.shape}")
    return y, values


def metric_value(name: str, y: np.ndarray, outputs: np.ndarray, n_classes: int) -> float:
    """One metric by name, e.g. for early stopping on a validation metric: ``outputs`` are
    class probabilities (n, n_classes), or predicted values (n,) for a regression metric."""
    if REGISTRY[name].regression:
        y, values = _check_values(y, outputs)
        return REGISTRY[name].compute(y, values, values, 0)
    if name in BINARY_EXTRAS and n_classes != 2:
        raise ValueError(f"{name} is defined for binary tasks only")
    y, proba = _check(y, outputs, n_classes)
    return REGISTRY[name].compute(y, proba, proba.argmax(axis=1), n_classes)


def summarize(folds: Sequence[Mapping[str, object]], names: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Mean and sample standard deviation (ddof=1) over folds; folds where a metric is
    undefined are left out of its mean. A single fold has std 0."""
    summary: dict[str, dict[str, float | None]] = {}
    for name in names:
        values = np.asarray([f.get(name, np.nan) for f in folds], dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            summary[name] = {"mean": None, "std": None}
            continue
        std = float(values.std(ddof=1)) if values.size > 1 else 0.0
        summary[name] = {"mean": float(values.mean()), "std": std}
    return summary
