"""Regression (issue 14, part 6): task=auto reads a continuous target as regression, the target
is standardised on each fold's fit rows only, metrics are R², RMSE and MAE in the target's units
beside ridge, SVR and MLP baselines on the same folds, and predict writes values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import TINY_CIRCUIT, fast, one_line, write_csv

from qhybrid.data import load_dataset
from qhybrid.data.spec import BuiltinDataSpec
from qhybrid.data.target import target_kind
from qhybrid.errors import ConfigError
from qhybrid.schema import validate
from qhybrid.training.metrics import lower_is_better, metric_value, regression_metrics

OFFSET = 1000.0  # the synthetic target sits far from 0: a standardised value would show at once


def _frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Three features and a continuous target with fractional values, around OFFSET."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["y"] = OFFSET + 30 * frame["a"] - 20 * frame["b"] + rng.normal(scale=5, size=n)
    return frame


class TestMetrics:
    y, pred = np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])

    def test_r2_rmse_mae_by_hand(self):
        scores = regression_metrics(self.y, self.pred)
        # residuals 0.5, -0.5, 0, -1: SS_res 1.5; mean 2.875, SS_tot 29.1875
        assert scores["r2"] == pytest.approx(1 - 1.5 / 29.1875)
        assert scores["rmse"] == pytest.approx(np.sqrt(1.5 / 4))
        assert scores["mae"] == pytest.approx(0.5)

    def test_monitors_read_the_same_numbers_with_the_right_direction(self):
        full = regression_metrics(self.y, self.pred)
        for name in ("r2", "rmse", "mae"):
            assert metric_value(name, self.y, self.pred, 0) == pytest.approx(full[name])
        assert lower_is_better("val_rmse") and lower_is_better("val_mae") and not lower_is_better("val_r2")

    def test_r2_of_a_constant_test_part_is_undefined_not_zero(self):
        assert np.isnan(regression_metrics(np.array([2.0, 2.0, 2.0]), np.array([1.0, 2.0, 3.0]))["r2"])


@pytest.mark.parametrize("values, kind", [
    (np.arange(30) % 3, "classes"),  # three integer classes
    (np.arange(10_000) % 25, "classes"),  # 25 integer classes of 400 rows each
    (np.round(np.linspace(25, 346, 442)), "continuous"),  # whole numbers, one or two rows each
    (np.linspace(0.1, 1.2, 12), "continuous"),  # fractional, more than 10 values
    (np.array([f"id{i}" for i in range(30)]), "identifier"),
])
def test_what_task_auto_reads_a_target_as(values, kind):
    assert target_kind(np.asarray(values).astype(str)) == kind


def test_the_defaults_switch_to_regression_counterparts(compose):
    from qhybrid.tasks import for_task

    spec = validate(compose(["data=diabetes"]))  # g10: class weights, val_roc_auc, stratified k-fold
    assert spec.task == "auto"
    adapted = for_task(spec, load_dataset(spec.data, spec.task))
    assert adapted.cv.name == "kfold" and adapted.cv.n_splits == 5 and adapted.data.imbalance == "none"
    assert adapted.trainer.early_stopping.monitor == "val_loss" and adapted.baselines == ["ridge", "svr", "mlp"]
    with pytest.raises(ConfigError, match="task='bogus' is not a valid choice"):
        validate(compose(["task=bogus"]))


@pytest.mark.parametrize("cv", ["kfold", "walk_forward", "holdout"])
def test_a_regression_target_is_split_by_each_cv(cv, compose):
    from qhybrid.fold import fit_and_validation_rows
    from qhybrid.tasks import for_task
    from qhybrid.training.cv import make_folds

    spec = validate(compose(["data=diabetes", f"cv={cv}"]))
    data = load_dataset(spec.data, spec.task)
    spec = for_task(spec, data)
    folds = make_folds(spec.cv, data)
    tested = np.concatenate([f.test for f in folds])
    assert len(set(tested.tolist())) == len(tested)  # no row tested twice
    if cv == "kfold":
        assert len(folds) == 5 and sorted(tested.tolist()) == list(range(442))
    if cv == "walk_forward":
        assert all(f.train.max() < f.test.min() for f in folds)
    if cv == "holdout":
        assert len(folds) == 1 and len(folds[0].test) == 89
    for fold in folds:
        fit, val = fit_and_validation_rows(spec, data, fold)
        assert len(val) and not set(fit.tolist()) & set(val.tolist()) and set(fit) | set(val) == set(fold.train)


def test_a_regression_monitor_reads_the_target_in_its_units(tmp_path, cli):
    out = tmp_path / "run"
    result = cli(["train", "data=diabetes", "model=g0", "trainer.loss=huber", "trainer.early_stopping.monitor=val_rmse",
                  *fast(), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["early_stopping_mode"] == "min"
    # the validation RMSE of diabetes (std 77) in its units; standardised values would be about 1
    assert all(20 < fold["best_val_score"] < 120 for fold in metrics["folds"])


def test_a_hybrid_regresses_through_its_circuit(tmp_path, cli):
    from qhybrid.training.checkpoints import load_checkpoint

    out = tmp_path / "run"
    result = cli(["train", "data=diabetes", "model=g6", *TINY_CIRCUIT, *fast(), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    checkpoint = load_checkpoint(out / "checkpoints" / "fold_0.pt")
    assert checkpoint["task"] == "regression" and checkpoint["state_dict"]["head.weight"].shape == (1, 2)
    assert checkpoint["target_scaling"]["scale"] > 10  # diabetes' spread, in its units
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(np.isfinite(stat["mean"]) for stat in metrics["summary"].values())


def test_the_target_is_standardised_on_the_fit_rows_only(compose):
    from qhybrid.fold import prepare_arrays
    from qhybrid.tasks import for_task
    from qhybrid.training.cv import make_folds

    spec = validate(compose(["data=diabetes", "model=g0", *fast()]))
    data = load_dataset(spec.data, spec.task)
    spec = for_task(spec, data)
    fold = make_folds(spec.cv, data)[0]
    arrays = prepare_arrays(spec, data, fold)
    fit_y = data.y[arrays.fit_rows]
    assert arrays.target.center == pytest.approx(fit_y.mean()) and arrays.target.scale == pytest.approx(fit_y.std())
    assert arrays.y_fit.mean() == pytest.approx(0.0, abs=1e-12) and arrays.y_fit.std() == pytest.approx(1.0)
    # the validation and test rows' targets do not move it
    data.y = data.y.copy()
    data.y[np.concatenate([arrays.val_rows, fold.test])] += 1e6
    again = prepare_arrays(spec, data, fold)
    assert (again.target.center, again.target.scale) == (arrays.target.center, arrays.target.scale)
    np.testing.assert_array_equal(again.y_test, data.y[fold.test])  # scored in the target's own units


def test_diabetes_reports_r2_rmse_mae_beside_three_baselines_on_the_same_folds(tmp_path, cli, monkeypatch):
    from qhybrid.training import baselines, engine

    fitted = {"hybrid": [], "baselines": []}
    real_fit, real_values = engine.fit, baselines.fit_predict_values

    def spy_fit(model, X_fit, y_fit, *args, **kwargs):
        fitted["hybrid"].append((X_fit.numpy().copy(), y_fit.numpy().copy()))
        return real_fit(model, X_fit, y_fit, *args, **kwargs)

    def spy_values(name, X_fit, y_fit, *args, **kwargs):
        fitted["baselines"].append((X_fit.copy(), y_fit.copy()))
        return real_values(name, X_fit, y_fit, *args, **kwargs)

    monkeypatch.setattr(engine, "fit", spy_fit)
    monkeypatch.setattr(baselines, "fit_predict_values", spy_values)
    out = tmp_path / "run"
    result = cli(["train", "data=diabetes", "model=g0", *fast(keep=["baselines", "plots"]), f"hydra.run.dir={out}"],
                 env={"COLUMNS": "200"})  # four model columns: no header folded
    assert result.returncode == 0, result.stderr
    for column in ("r2", "rmse", "mae", "ridge (baseline)", "svr (baseline)", "mlp (baseline)", " ± "):
        assert column in result.stdout, column
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["task_requested"] == "auto" and metrics["classes"] == []
    assert metrics["cv"]["name"] == "kfold" and "confusion_matrix" not in metrics
    assert set(metrics["summary"]) == {"r2", "rmse", "mae"} and set(metrics["baselines"]) == {"ridge", "svr", "mlp"}
    for stat in [*metrics["summary"].values(), *(b["summary"]["r2"] for b in metrics["baselines"].values())]:
        assert np.isfinite(stat["mean"]) and np.isfinite(stat["std"])
    assert metrics["baselines"]["ridge"]["summary"]["r2"]["mean"] > 0.3  # a linear model explains diabetes
    for k, (X, y) in enumerate(fitted["hybrid"]):  # each baseline fits the hybrid's rows and standardised target
        assert y.shape[1] == 1 and abs(float(y.mean())) < 1e-6
        for X_b, y_b in fitted["baselines"][3 * k: 3 * k + 3]:
            np.testing.assert_allclose(X_b, X, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(y_b, y[:, 0], rtol=1e-6, atol=1e-6)
    predictions = pd.read_csv(out / "predictions.csv")
    assert sorted(predictions["row"]) == list(range(442)) and list(predictions.columns) == ["row", "fold", "y_true",
                                                                                          "y_pred"]
    data = load_dataset(BuiltinDataSpec(name="diabetes"))
    np.testing.assert_array_equal(predictions["y_true"], data.y[predictions["row"]])
    assert 25 <= predictions["y_pred"].mean() <= 346  # the target's units, not standardised ones
    assert (out / "predicted_vs_true.png").is_file() and (out / "residuals.png").is_file()
    assert not (out / "roc.png").exists() and not (out / "confusion_matrix.png").exists()


def test_a_csv_target_is_regressed_and_predict_writes_values_in_its_units(tmp_path, cli):
    frame = _frame()
    write_csv(tmp_path / "train.csv", frame)
    out = tmp_path / "run"
    result = cli(["train", "model=g0", "data=csv", "data.path=train.csv", "data.target=y", "quantization=int8",
                  "quantization.latency_repeats=1", *fast("trainer.max_epochs=30", keep=["quantization"]),
                  f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["summary"]["r2"]["mean"] > 0.5
    assert metrics["quantization"]["summary"]["r2"]["mean"] == pytest.approx(metrics["summary"]["r2"]["mean"],
                                                                              abs=0.05)
    # the fold's own rows through its checkpoint: the values training wrote, in the target's units
    written = pd.read_csv(out / "predictions.csv").query("fold == 0")
    result = cli(["predict", f"run={out}", "input=fold_0", "checkpoint=fold_0", "output=fold0.csv"])
    assert result.returncode == 0, result.stderr
    predicted = pd.read_csv(tmp_path / "fold0.csv")
    assert list(predicted.columns) == ["row", "prediction"] and (predicted["row"] == written["row"].to_numpy()).all()
    np.testing.assert_allclose(predicted["prediction"], written["y_pred"], rtol=1e-9)
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["r2"] == pytest.approx(metrics["folds"][0]["r2"])
    new = frame.drop(columns="y").head(7)
    write_csv(tmp_path / "new.csv", new)
    for extra in ([], ["checkpoint=int8"], ["ensemble=true"]):
        result = cli(["predict", f"run={out}", "input=new.csv", "overwrite=true", *extra])
        assert result.returncode == 0, result.stderr
        values = pd.read_csv(tmp_path / "new_predictions.csv")["prediction"]
        assert len(values) == 7 and abs(values.mean() - OFFSET) < 100, extra


def test_a_resumed_regression_run_keeps_its_finished_fold(tmp_path, cli):
    write_csv(tmp_path / "train.csv", _frame())
    args = ["train", "model=g0", "data=csv", "data.path=train.csv", "data.target=y", "baselines=[ridge]",
            *fast(keep=["baselines"])]
    out = tmp_path / "run"
    assert cli([*args, f"hydra.run.dir={out}"]).returncode == 0
    before = json.loads((out / "metrics.json").read_text())
    for name in ("metrics.json", "folds/fold_1.json", "checkpoints/fold_1.pt"):  # as if killed in fold 1
        (out / name).unlink()
    from qhybrid.training.resume import load_fold

    kept = load_fold(out, 0)
    assert kept.curves.y_true.dtype == np.float64 and (kept.curves.y_true % 1 != 0).any()  # not cut to integers
    result = cli([*args, f"resume={out}"])
    assert result.returncode == 0, result.stderr
    after = json.loads((out / "metrics.json").read_text())
    assert after["summary"] == before["summary"]
    assert after["baselines"]["ridge"]["summary"] == before["baselines"]["ridge"]["summary"]


def test_a_sweep_over_both_tasks_reports_each_tasks_metrics(tmp_path, cli):
    sweep = tmp_path / "sweep"
    result = cli(["train", "-m", "data=diabetes,iris", "model=g0", *fast(), f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 0, result.stderr
    result = cli(["report", str(sweep)])
    assert result.returncode == 0, result.stderr
    header = (sweep / "report.csv").read_text().splitlines()[0]
    for name in ("roc_auc_mean", "r2_mean", "rmse_std", "mae_mean"):
        assert name in header, name
    rows = pd.read_csv(sweep / "report.csv")
    diabetes = rows[rows["data"] == "diabetes"].iloc[0]
    assert np.isfinite(diabetes["r2_mean"]) and pd.isna(diabetes["roc_auc_mean"])


BAD = {
    "a text target for regression": (["data=csv", "data.path=iris.csv", "data.target=species", "task=regression"],
                                     ["species", "'setosa'", "lines 2, 3"]),
    "classification of a continuous target": (["data=csv", "data.path=cont.csv", "data.target=y",
                                               "task=classification"], ["data.target='y'", "looks continuous",
                                                                        "task=regression"]),
    "missing targets": (["data=csv", "data.path=gaps.csv", "data.target=y"], ["'y'", "lines 4 and 9", "nan_policy"]),
    "a regression loss for classes": (["data=iris", "trainer.loss=mse"], ["trainer.loss=mse", "classification"]),
    "a threshold for regression": (["data=diabetes", "decision.threshold=target_sensitivity"],
                                   ["decision.threshold", "regression"]),
    "classes asked of diabetes": (["data=diabetes", "task=classification"], ["data=diabetes", "continuous"]),
    "regression asked of iris": (["data=iris", "task=regression"], ["data=iris", "setosa"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_for_a_task_is_one_line(case, tmp_path, cli, iris_csv):
    frame = _frame(40)
    write_csv(tmp_path / "cont.csv", frame)
    frame.loc[[2, 7], "y"] = np.nan
    write_csv(tmp_path / "gaps.csv", frame)
    (tmp_path / "iris.csv").write_text(Path(iris_csv).read_text())
    overrides, named = BAD[case]
    one_line(cli(["train", "model=g0", *overrides, *fast(), f"hydra.run.dir={tmp_path / 'run'}"]), *named, "Fix:")
    assert not (tmp_path / "run").exists()
