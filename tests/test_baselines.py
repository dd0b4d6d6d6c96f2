"""Classical baselines: the hybrid's folds, rows and preprocessing; their metrics beside it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import fast
from qhybrid.errors import ConfigError
from qhybrid.schema import validate
from qhybrid.training.baselines import BASELINE_NAMES, fit_predict, make_baseline, parameter_count

# the baselines each test names, beside a small classical hybrid; 2 folds, 3 epochs, no INT8 export
FOLDS = 2
QUICK = ["model=g0", *fast("trainer.max_epochs=3", f"cv.n_splits={FOLDS}", keep=["baselines", "plots"])]


def test_baselines_train_and_test_on_exactly_the_hybrids_rows(tmp_path, compose, monkeypatch):
    from qhybrid import fold as fold_module
    from qhybrid import run as run_module
    from qhybrid.training import baselines, engine

    hybrid_fit, baseline_fit, scored = [], [], []
    real_fit, real_fit_predict, real_score = engine.fit, baselines.fit_predict, fold_module.score

    def spy_fit(model, X_fit, y_fit, *args, **kwargs):
        hybrid_fit.append((X_fit.clone(), y_fit.clone()))
        return real_fit(model, X_fit, y_fit, *args, **kwargs)

    def spy_fit_predict(name, X_fit, y_fit, *args, **kwargs):
        baseline_fit.append((name, X_fit.copy(), y_fit.copy()))
        return real_fit_predict(name, X_fit, y_fit, *args, **kwargs)

    def spy_score(spec, data, fold, *args, **kwargs):
        scored.append((fold.index, fold.test.copy()))
        return real_score(spec, data, fold, *args, **kwargs)

    monkeypatch.setattr(engine, "fit", spy_fit)
    monkeypatch.setattr(baselines, "fit_predict", spy_fit_predict)
    monkeypatch.setattr(fold_module, "score", spy_score)
    metrics = run_module.train(compose(["data=breast_cancer", "data.imbalance=smote", "baselines=[logreg,mlp]",
                                        *QUICK]), tmp_path / "run")
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert len(scored) == FOLDS * 3  # per fold: the hybrid, then each baseline
    for k in range(FOLDS):
        rows = predictions.loc[predictions["fold"] == k, "row"].to_numpy()
        for index, test in scored[3 * k: 3 * k + 3]:
            assert index == k and np.array_equal(test, rows)  # the same test rows, in the same order
        X, y = hybrid_fit[k]
        for name, X_b, y_b in baseline_fit[2 * k: 2 * k + 2]:
            # the same fit rows after the same fold preprocessing and SMOTE
            np.testing.assert_allclose(X_b, X.numpy(), rtol=1e-6, atol=1e-6)
            assert np.array_equal(y_b, y.numpy())
    assert set(metrics["baselines"]) == {"logreg", "mlp"}
    for name, result in metrics["baselines"].items():
        assert [f["n_test"] for f in result["folds"]] == [f["n_test"] for f in metrics["folds"]]
        assert 0.9 < result["summary"]["roc_auc"]["mean"] <= 1.0
    table = pd.read_csv(tmp_path / "run" / "baselines.csv")
    assert sorted(set(table["model"])) == ["logreg", "mlp"] and len(table) == 2 * FOLDS


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_parameter_counts_are_the_fitted_numbers():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 3)), np.arange(80) % 2
    counts = {name: parameter_count(make_baseline(name, 0, False).fit(X, y)) for name in BASELINE_NAMES}
    assert counts["logreg"] == 3 + 1
    assert counts["mlp"] == 3 * 16 + 16 + 16 * 1 + 1  # scikit-learn's binary MLP has one output unit
    svc = make_baseline("svc", 0, False).fit(X, y).calibrated_classifiers_[0].estimator
    assert counts["svc"] == svc.support_vectors_.size + svc.dual_coef_.size + 1 + 2
    assert counts["random_forest"] > 200  # at least a node per tree


def test_a_class_missing_from_the_fit_rows_gets_probability_zero():
    X, y = np.random.default_rng(1).normal(size=(30, 2)), np.arange(30) % 2
    (proba,), _ = fit_predict("logreg", X, y, [X[:5]], n_classes=3, seed=0, balanced=False)
    assert proba.shape == (5, 3) and (proba[:, 2] == 0).all() and np.allclose(proba.sum(axis=1), 1)


def test_baselines_can_be_switched_off_and_bad_names_are_one_line(tmp_path, compose):
    from qhybrid.run import train

    metrics = train(compose(["data=iris", "baselines=[]", *QUICK]), tmp_path / "run")
    assert metrics["baselines"] == {} and not (tmp_path / "run" / "baselines.csv").exists()
    assert validate(compose([])).baselines == ["logreg", "svc", "mlp"]  # on by default
    with pytest.raises(ConfigError, match="baselines\\[1\\]='xgboost' is not a valid choice") as err:
        validate(compose(["baselines=[logreg,xgboost]"]))
    assert "\n" not in str(err.value)


def test_the_metrics_json_and_terminal_table_show_them(tmp_path, cli):
    out = tmp_path / "run"
    result = cli(["train", "data=iris_binary", "baselines=[logreg,svc]", *QUICK, f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "logreg (baseline)" in result.stdout and "svc (baseline)" in result.stdout
    assert "parameters" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["baselines"]["logreg"]["n_parameters"] == 4 + 1
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [f"fold_{k}.pt" for k in range(FOLDS)]


def test_a_baseline_that_cannot_fit_a_fold_is_logged_and_undefined_there(monkeypatch, tmp_path, compose):
    from qhybrid.run import train
    from qhybrid.training import baselines

    real = baselines.fit_predict

    def failing_svc(name, *args, **kwargs):
        if name == "svc":
            raise baselines.BaselineError("baseline svc cannot be fitted on 3 rows: too few")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(baselines, "fit_predict", failing_svc)
    metrics = train(compose(["data=iris_binary", "baselines=[logreg,svc]", *QUICK]), tmp_path / "run")
    assert metrics["baselines"]["svc"]["summary"]["roc_auc"] == {"mean": None, "std": None}
    assert metrics["baselines"]["logreg"]["summary"]["roc_auc"]["mean"] > 0.5
    assert (tmp_path / "run" / "roc.png").stat().st_size > 0
