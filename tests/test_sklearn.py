"""qhybrid.sklearn: scikit-learn's own estimator checks (all of them, none excluded), and the
estimators inside Pipeline, GridSearchCV and cross_val_score; DataFrames, string labels,
pickling and bad settings."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from qhybrid.sklearn import HybridClassifier, HybridRegressor


@pytest.mark.parametrize("estimator", [HybridClassifier(max_epochs=2), HybridRegressor(max_epochs=2)],
                         ids=lambda e: type(e).__name__)
def test_scikit_learns_estimator_checks_pass(estimator):
    results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert len(results) > 40 and not failed, failed


def test_in_a_grid_search_over_a_pipeline_on_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X, y = X.iloc[::3], y.iloc[::3]  # 190 rows: the same code path, a third of the time
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", HybridClassifier(max_epochs=4))])
    search = GridSearchCV(pipeline, {"clf__lr": [0.01, 0.05]}, cv=2, scoring="roc_auc").fit(X, y)
    assert search.best_params_["clf__lr"] in (0.01, 0.05) and 0.5 < search.best_score_ <= 1
    fitted = search.best_estimator_.named_steps["clf"]
    assert fitted.n_features_in_ == 30 and fitted.n_epochs_ <= 4
    assert set(search.predict(X)) <= {0, 1}
    scores = cross_val_score(clone(pipeline), X, y, cv=2, scoring="accuracy")
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))


def test_string_labels_dataframes_pickling_and_a_seeded_fit():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X, labels = X.iloc[::4], np.where(y.iloc[::4] == 1, "benign", "malignant")
    first = HybridClassifier(max_epochs=3, seed=7).fit(X, labels)
    assert list(first.classes_) == ["benign", "malignant"] and list(first.feature_names_in_) == list(X.columns)
    assert set(first.predict(X)) <= {"benign", "malignant"}
    again = HybridClassifier(max_epochs=3, seed=7).fit(X, labels)
    np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))
    copy = pickle.loads(pickle.dumps(first))
    np.testing.assert_allclose(copy.predict_proba(X), first.predict_proba(X), atol=1e-6)
    with pytest.warns(UserWarning, match="feature names"):
        first.predict(X.to_numpy())  # fitted with names, given none: scikit-learn's warning, as for its own


def test_the_regressor_predicts_in_the_targets_units():
    X, y = load_diabetes(return_X_y=True)
    reg = HybridRegressor(model="g0", max_epochs=30).fit(X, y)
    predicted = reg.predict(X)
    assert abs(predicted.mean() - y.mean()) < 0.5 * y.std() and reg.score(X, y) > 0.1


@pytest.mark.parametrize("params, words", [
    ({"model": "g99"}, "model=g99"),
    ({"overrides": ["trainer.lrr=0.1"]}, "trainer.lrr"),
    ({"max_epochs": 0}, "trainer.max_epochs=0"),
    ({"overrides": "trainer.lr=0.1"}, "not a list"),
    ({"overrides": ["cv.n_splits=3"]}, "cv.n_splits=3 has no effect on an estimator"),
    ({"overrides": ["data=breast_cancer"]}, "data=breast_cancer has no effect on an estimator"),
    ({"overrides": ["search.budget=3"]}, "search.budget=3 has no effect"),
])
def test_bad_settings_are_a_value_error_with_qhybrids_line(params, words):
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.repeat([0, 1], 10)
    with pytest.raises(ValueError, match=words.replace("[", r"\[")):
        HybridClassifier(**params).fit(X, y)


def test_values_beyond_float32_are_refused_in_fit_and_predict():
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.repeat([0, 1], 10)
    huge = X.copy()
    huge[4, 2] = 1e300
    with pytest.raises(ValueError, match=r"fit: X holds .* float32's range \(e.g. 1e\+300 in column 2, row 4"):
        HybridClassifier(model="g0", max_epochs=1).fit(huge, y)
    fitted = HybridClassifier(model="g0", max_epochs=1, overrides=["data.scaler=robust"]).fit(X, y)
    with pytest.raises(ValueError, match="predict: X holds values beyond float32's range"):
        fitted.predict(np.full((2, 3), 1e300))


def test_an_estimators_fit_takes_the_runs_thread_policy(monkeypatch):
    from qhybrid import threads

    applied = []
    monkeypatch.setattr(threads, "apply", applied.append)
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.repeat([0, 1], 10)
    HybridClassifier(max_epochs=1).fit(X, y)  # g6: 32 x 2^4 amplitudes a step, overhead-bound: one thread
    HybridClassifier(max_epochs=1, overrides=["trainer.threads=3"]).fit(X, y)
    assert applied == [1, 3]
