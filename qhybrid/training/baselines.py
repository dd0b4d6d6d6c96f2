"""Classical baselines (scikit-learn) trained on exactly the hybrid's folds.

Each baseline sees what the hybrid fits on — the fold's fit rows after the fold's own
preprocessing (imputer, scaler, PCA) and resampling (SMOTE), with balanced class weights
when the run asks for them; for regression the fold's standardised target, its predictions
turned back into the target's units — and is scored on the same test rows by the same metric
code. A hybrid result is therefore always read beside models a reviewer knows.
"""

from __future__ import annotations

import logging
import warnings
from typing import Optional

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.svm import SVC, SVR

from qhybrid.errors import first_line
from qhybrid.registry import Registry

log = logging.getLogger("qhybrid")


class BaselineError(Exception):
    """A baseline that cannot be fitted on a fold's rows (the run goes on without it there)."""


def _logreg(seed: int, weight: Optional[str], smallest_class: int, regression: bool):
    return LogisticRegression(max_iter=5000, class_weight=weight)


def _svc(seed: int, weight: Optional[str], smallest_class: int, regression: bool):
    # Platt scaling (sigmoid) fitted by an internal 5-fold CV gives the probabilities the
    # metrics need (scikit-learn 1.9 deprecates SVC(probability=True) for this)
    return CalibratedClassifierCV(SVC(kernel="rbf", class_weight=weight), method="sigmoid",
                                  cv=max(2, min(5, smallest_class)), ensemble=False)


def _mlp(seed: int, weight: Optional[str], smallest_class: int, regression: bool):
    # the size of g0's hidden layer; scikit-learn's MLP has no class weights
    if regression:
        return MLPRegressor(hidden_layer_sizes=(16,), max_iter=1000, random_state=seed)
    return MLPClassifier(hidden_layer_sizes=(16,), max_iter=1000, random_state=seed)


def _random_forest(seed: int, weight: Optional[str], smallest_class: int, regression: bool):
    if regression:
        return RandomForestRegressor(n_estimators=200, random_state=seed, n_jobs=1)
    return RandomForestClassifier(n_estimators=200, class_weight=weight, random_state=seed, n_jobs=1)


def _ridge(seed: int, weight: Optional[str], smallest_class: int, regression: bool):
    return Ridge(alpha=1.0)


def _svr(seed: int, weight: Optional[str], smallest_class: int, regression: bool):
    return SVR(kernel="rbf")  # epsilon 0.1 and C 1 suit the standardised target it is fitted on


# builder(seed, class_weight, rows of the rarest class, regression) -> an unfitted estimator;
# tasks: what it fits; counterpart: the baseline a run of the other task takes in its place
BOTH = ("classification", "regression")
BASELINES = Registry("baselines", "baseline")
BASELINES.add("logreg", None, _logreg, "logistic regression (regression runs: ridge)", tasks=("classification",),
              counterpart="ridge")
BASELINES.add("svc", None, _svc, "RBF support vector machine, Platt-calibrated probabilities (regression runs: svr)",
              tasks=("classification",), counterpart="svr")
BASELINES.add("mlp", None, _mlp, "a one-hidden-layer perceptron of g0's width (16); a regressor for regression",
              tasks=BOTH)
BASELINES.add("random_forest", None, _random_forest, "200 trees; a regression forest for regression", tasks=BOTH)
BASELINES.add("ridge", None, _ridge, "regression: ridge (L2) linear regression (classification runs: logreg)",
              tasks=("regression",), counterpart="logreg")
BASELINES.add("svr", None, _svr, "regression: RBF support vector regression (classification runs: svc)",
              tasks=("regression",), counterpart="svc")
BASELINE_NAMES = tuple(BASELINES.names())


def baselines_for(names: list[str], task: str) -> list[str]:
    """The baselines a run of ``task`` fits: each named one, or its counterpart when it fits the
    other task (the default list names classifiers; a regression run gets ridge, svr, mlp)."""
    chosen, swapped = [], []
    for name in names:
        option = BASELINES.get(name, key="baselines")
        if task not in option.extra["tasks"]:
            swapped.append(f"{name} -> {option.extra['counterpart']}")
            name = option.extra["counterpart"]
        if name not in chosen:
            chosen.append(name)
    if swapped:
        log.info("baselines for %s: %s (each fits the other task)", task, ", ".join(swapped))
    return chosen


def make_baseline(name: str, seed: int, balanced: bool, smallest_class: int = 5, regression: bool = False,
                  params: Optional[dict] = None):
    """An unfitted scikit-learn classifier with predict_proba (a regressor with predict for
    ``regression``). ``smallest_class``: rows of the rarest class in the fit rows (the SVM's
    calibration folds cannot outnumber them); ``params``: the estimator's settings (search.budget)."""
    model = BASELINES.get(name, key="baselines").build(seed, "balanced" if balanced else None, smallest_class,
                                                       regression)
    return model.set_params(**params) if params else model


def parameter_count(model) -> int:
    """Fitted numbers the model predicts with: weights and biases; support vectors with
    their coefficients; a forest's tree nodes."""
    if hasattr(model, "calibrated_classifiers_"):  # the calibrated SVC: its SVM plus one sigmoid per class
        calibrated = model.calibrated_classifiers_[0]
        return parameter_count(calibrated.estimator) + 2 * len(calibrated.calibrators)
    if hasattr(model, "coefs_"):
        return int(sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_))
    if hasattr(model, "support_vectors_"):
        return int(model.support_vectors_.size + model.dual_coef_.size + model.intercept_.size)
    if hasattr(model, "estimators_"):
        return int(sum(tree.tree_.node_count for tree in model.estimators_))
    return int(model.coef_.size + model.intercept_.size)


def _fit(model, name: str, X_fit: np.ndarray, y_fit: np.ndarray):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the fold's metrics say how well it did
            model.fit(X_fit, y_fit)
    except ValueError as err:
        raise BaselineError(f"baseline {name} cannot be fitted on {len(y_fit)} rows: {first_line(err)}") \
            from None
    return model


def fit_predict_values(name: str, X_fit: np.ndarray, y_fit: np.ndarray, X_eval: list[np.ndarray],
                       seed: int, params: Optional[dict] = None) -> tuple[list[np.ndarray], int]:
    """Fit one regression baseline on (standardised) targets; its predictions (n,) for each
    array in ``X_eval``, in the units it was fitted in."""
    model = _fit(make_baseline(name, seed, False, regression=True, params=params), name, X_fit, y_fit)
    return [np.asarray(model.predict(X), dtype=np.float64) for X in X_eval], parameter_count(model)


def fit_predict(name: str, X_fit: np.ndarray, y_fit: np.ndarray, X_eval: list[np.ndarray], n_classes: int,
                seed: int, balanced: bool, params: Optional[dict] = None) -> tuple[list[np.ndarray], int]:
    """Fit one baseline; class probabilities (n, n_classes) for each array in ``X_eval``.
    A baseline that cannot be fitted on these rows (e.g. too few of a class to calibrate)
    raises BaselineError, which the run logs and records as undefined metrics."""
    counts = np.bincount(y_fit)
    model = _fit(make_baseline(name, seed, balanced, int(counts[counts > 0].min()), params=params), name, X_fit,
                 y_fit)
    probas = []
    for X in X_eval:
        proba = np.zeros((len(X), n_classes))
        # a class absent from the fit rows gets probability 0, not a shifted column
        proba[:, model.classes_] = model.predict_proba(X)
        probas.append(proba)
    return probas, parameter_count(model)
