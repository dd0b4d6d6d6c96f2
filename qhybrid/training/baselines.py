"""Classical baselines (scikit-learn) trained on exactly the hybrid's folds.

Each baseline sees what the hybrid fits on — the fold's fit rows after the fold's own
preprocessing (imputer, scaler, PCA) and resampling (SMOTE), with balanced class weights
when the run asks for them — and is scored on the same test rows by the same metric code.
A hybrid result is therefore always read beside models a reviewer knows.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from qhybrid.errors import first_line
from qhybrid.registry import Registry

class BaselineError(Exception):
    """A baseline that cannot be fitted on a fold's rows (the run goes on without it there)."""


def _logreg(seed: int, weight: Optional[str], smallest_class: int):
    return LogisticRegression(max_iter=5000, class_weight=weight)


def _svc(seed: int, weight: Optional[str], smallest_class: int):
    # Platt scaling (sigmoid) fitted by an internal 5-fold CV gives the probabilities the
    # metrics need (scikit-learn 1.9 deprecates SVC(probability=True) for this)
    return CalibratedClassifierCV(SVC(kernel="rbf", class_weight=weight), method="sigmoid",
                                  cv=max(2, min(5, smallest_class)), ensemble=False)


def _mlp(seed: int, weight: Optional[str], smallest_class: int):
    # the size of g0's hidden layer; scikit-learn's MLP has no class weights
    return MLPClassifier(hidden_layer_sizes=(16,), max_iter=1000, random_state=seed)


def _random_forest(seed: int, weight: Optional[str], smallest_class: int):
    return RandomForestClassifier(n_estimators=200, class_weight=weight, random_state=seed, n_jobs=1)


# builder(seed, class_weight, rows of the rarest class) -> an unfitted classifier with predict_proba
BASELINES = Registry("baselines", "baseline")
BASELINES.add("logreg", None, _logreg, "logistic regression (scikit-learn)")
BASELINES.add("svc", None, _svc, "RBF support vector machine, Platt-calibrated probabilities")
BASELINES.add("mlp", None, _mlp, "a one-hidden-layer perceptron of g0's width (16)")
BASELINES.add("random_forest", None, _random_forest, "200 trees")
BASELINE_NAMES = tuple(BASELINES.names())


def make_baseline(name: str, seed: int, balanced: bool, smallest_class: int = 5):
    """An unfitted scikit-learn classifier with predict_proba. ``smallest_class``: rows of
    the rarest class in the fit rows (the SVM's calibration folds cannot outnumber them)."""
    return BASELINES.get(name, key="baselines").build(seed, "balanced" if balanced else None, smallest_class)


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


def fit_predict(name: str, X_fit: np.ndarray, y_fit: np.ndarray, X_eval: list[np.ndarray], n_classes: int,
                seed: int, balanced: bool) -> tuple[list[np.ndarray], int]:
    """Fit one baseline; class probabilities (n, n_classes) for each array in ``X_eval``.
    A baseline that cannot be fitted on these rows (e.g. too few of a class to calibrate)
    raises BaselineError, which the run logs and records as undefined metrics."""
    counts = np.bincount(y_fit)
    model = make_baseline(name, seed, balanced, int(counts[counts > 0].min()))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the fold's metrics say how well it did
            model.fit(X_fit, y_fit)
    except ValueError as err:
        raise BaselineError(f"baseline {name} cannot be fitted on {len(y_fit)} rows: {first_line(err)}") \
            from None
    probas = []
    for X in X_eval:
        proba = np.zeros((len(X), n_classes))
        # a class absent from the fit rows gets probability 0, not a shifted column
        proba[:, model.classes_] = model.predict_proba(X)
        probas.append(proba)
    return probas, parameter_count(model)
