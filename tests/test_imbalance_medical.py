"""data.imbalance (SMOTE inside the fold, class weights), the decision threshold chosen on
validation rows, early stopping's tie-break, and experiment=medical."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import fast

from qhybrid.build import build_class_weights
from qhybrid.data.resample import smote
from qhybrid.errors import ConfigError, DataError
from qhybrid.schema import TrainerSpec, validate
from qhybrid.training.engine import EarlyStopping
from qhybrid.training.threshold import rates_at, threshold_for_sensitivity

QUICK = ["model=g0", *fast("trainer.max_epochs=3")]


class TestSmote:
    def test_synthesises_minority_rows_after_the_originals(self):
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(60, 3)), np.array([0] * 45 + [1] * 15)
        X_res, y_res = smote(X, y, k_neighbors=5, seed=0)
        np.testing.assert_array_equal(X_res[:60], X)
        np.testing.assert_array_equal(y_res[:60], y)
        assert np.bincount(y_res).tolist() == [45, 45] and (y_res[60:] == 1).all()
        # synthetic rows lie between minority rows: inside the minority's bounding box
        minority = X[y == 1]
        assert (X_res[60:] >= minority.min(axis=0) - 1e-12).all() and (X_res[60:] <= minority.max(axis=0) + 1e-12).all()

    def test_balanced_classes_are_left_alone_and_a_lone_row_is_one_error(self):
        X, y = np.eye(4), np.array([0, 0, 1, 1])
        assert smote(X, y, 5, 0)[0] is X
        with pytest.raises(DataError, match="data.imbalance=class_weights"):
            smote(np.eye(4), np.array([0, 0, 0, 1]), 5, 0)


def test_smote_never_creates_or_touches_validation_or_test_rows(tmp_path, compose, monkeypatch):
    from qhybrid.run import train
    from qhybrid.training import engine

    seen: dict[str, list] = {"none": [], "smote": []}
    real_fit = engine.fit
    current = {}

    def spy(model, X_fit, y_fit, X_val, y_val, *args, **kwargs):
        seen[current["mode"]].append((len(X_fit), torch.bincount(y_fit).tolist(), X_val.clone(), y_val.clone()))
        return real_fit(model, X_fit, y_fit, X_val, y_val, *args, **kwargs)

    monkeypatch.setattr(engine, "fit", spy)
    runs = {}
    for mode in ("none", "smote"):
        current["mode"] = mode
        runs[mode] = train(compose(["data=breast_cancer", f"data.imbalance={mode}", *QUICK]), tmp_path / mode)
    for plain, resampled, row_p, row_s in zip(seen["none"], seen["smote"], runs["none"]["folds"],
                                              runs["smote"]["folds"]):
        n_fit, counts = plain[0], plain[1]
        assert resampled[0] == n_fit + max(counts) - min(counts)  # only fit rows were added
        assert resampled[1] == [max(counts)] * 2
        assert torch.equal(plain[2], resampled[2]) and torch.equal(plain[3], resampled[3])  # validation untouched
        assert row_s["n_synthetic"] == max(counts) - min(counts) and row_p["n_synthetic"] == 0
        assert (row_s["n_train"], row_s["n_val"], row_s["n_test"]) == (row_p["n_train"], row_p["n_val"],
                                                                        row_p["n_test"])
    predictions = pd.read_csv(tmp_path / "smote" / "predictions.csv")
    assert sorted(predictions["row"]) == list(range(569))  # every real row tested once, nothing synthetic


def test_class_weights_come_from_the_fit_rows():
    y = np.array([0] * 30 + [1] * 10)
    weights = build_class_weights(TrainerSpec(), y, 2, imbalance="class_weights")
    assert weights.tolist() == pytest.approx([40 / 60, 40 / 20])
    assert build_class_weights(TrainerSpec(), y, 2, imbalance="none") is None
    assert build_class_weights(TrainerSpec(class_weights=[1.0, 3.0]), y, 2, "class_weights").tolist() == [1.0, 3.0]


@pytest.mark.parametrize("overrides, expected", [
    (["data.imbalance=smote", "trainer.class_weights=balanced"], "both correct the class imbalance"),
    (["decision.threshold=target_sensitivity", "trainer.val_fraction=0", "trainer.early_stopping.enabled=false",
      "trainer.scheduler.name=none"], "chosen on validation rows"),
])
def test_inconsistent_settings_are_one_line(overrides, expected, compose):
    with pytest.raises(ConfigError, match=expected) as err:
        validate(compose(overrides))
    assert "\n" not in str(err.value)


class TestThreshold:
    def test_the_highest_threshold_that_finds_the_target_share(self):
        y = np.array([1, 1, 1, 1, 0, 0, 0])
        score = np.array([0.9, 0.8, 0.7, 0.2, 0.75, 0.1, 0.05])
        assert threshold_for_sensitivity(y, score, 0.75) == 0.7
        assert threshold_for_sensitivity(y, score, 0.95) == 0.2
        assert rates_at(y, score, 0.7) == (0.75, 2 / 3)
        assert np.isnan(threshold_for_sensitivity(np.zeros(3), score[:3], 0.9))

    def test_sensitivity_reaches_the_target_on_the_rows_it_was_chosen_on(self):
        rng = np.random.default_rng(0)
        for target in (0.5, 0.9, 0.95, 1.0):
            y = rng.integers(0, 2, 200)
            score = rng.uniform(size=200) + 0.5 * y
            t = threshold_for_sensitivity(y, score, target)
            sensitivity, _ = rates_at(y, score, t)
            assert sensitivity >= target
            assert rates_at(y, score, np.nextafter(t, 2.0))[0] < target  # and no higher threshold does


def test_early_stopping_breaks_ties_by_validation_loss():
    model = torch.nn.Linear(1, 1)
    stopper = EarlyStopping("max", patience=5)
    assert stopper.step(1.0, 1, model, tiebreak=0.30)
    assert not stopper.step(1.0, 2, model, tiebreak=0.40)
    assert stopper.step(1.0, 3, model, tiebreak=0.20) and stopper.best_epoch == 3
    assert not stopper.step(0.99, 4, model, tiebreak=0.01)


def test_the_medical_preset_reports_the_threshold_and_predict_applies_it(tmp_path, compose, cli):
    cfg = compose(["experiment=medical"])
    assert (cfg.data.name, cfg.data.scaler, cfg.data.imbalance) == ("breast_cancer", "robust", "smote")
    assert cfg.trainer.early_stopping.monitor == "val_roc_auc" and cfg.decision.threshold == "target_sensitivity"
    out = tmp_path / "run"
    result = cli(["train", "experiment=medical", "model=g0", *fast("trainer.max_epochs=3", "cv.n_splits=3"),
                  f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["decision"] == {"threshold": "target_sensitivity", "target_sensitivity": 0.95}
    predictions = pd.read_csv(out / "predictions.csv")
    for fold in metrics["folds"]:
        part = predictions[predictions["fold"] == fold["fold"]]
        t = fold["decision_threshold"]
        assert ((part["proba_malignant"] >= t) == (part["y_pred_at_threshold"] == "malignant")).all()
        truth = (part["y_true"] == "malignant").to_numpy()
        assert fold["sensitivity_at_threshold"] == pytest.approx(rates_at(truth, part["proba_malignant"], t)[0])
        assert fold["n_synthetic"] > 0
    predicted = cli(["predict", f"run={out}", "input=fold_1", "checkpoint=fold_1", f"output={tmp_path / 'p.csv'}"])
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    again = pd.read_csv(tmp_path / "p.csv")
    part = predictions[predictions["fold"] == 1]
    assert (again["prediction_at_threshold"].to_numpy() == part["y_pred_at_threshold"].to_numpy()).all()
