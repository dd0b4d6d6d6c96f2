"""`qhybrid train` end to end, from a temporary working directory: the installed command in
a subprocess where the process is the point (the default run's complete folder; two processes
with one seed give the same numbers), in this process otherwise (the same code path)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import FAST, CliResult, fast, one_line, run_cli
from helpers.scheduling import HEAVY

RUN_FILES = ["metrics.json", "folds.csv", "predictions.csv", "environment.json", "train.log", "roc.png", "pr.png",
             "confusion_matrix.png", "learning_curves.png", ".hydra/config.yaml", ".hydra/overrides.yaml"]


def _check_schema(metrics: dict, n_folds: int) -> None:
    assert set(["summary", "folds", "task", "classes", "n_samples", "n_features", "timing"]) <= set(metrics)
    for name, stat in metrics["summary"].items():
        assert set(stat) == {"mean", "std"}, name
        assert isinstance(stat["mean"], float) and isinstance(stat["std"], float)
    assert len(metrics["folds"]) == n_folds
    for fold in metrics["folds"]:
        assert isinstance(fold["best_epoch"], int) and fold["best_epoch"] >= 1
        assert fold["train_seconds"] > 0
        assert set(metrics["summary"]) <= set(fold)
        assert len(fold["confusion_matrix"]) == len(metrics["classes"])
    assert set(metrics["timing"]) == {"total_seconds", "train_seconds", "threads", "kernel_seconds"}
    assert metrics["timing"]["threads"] == 1  # trainer.threads=auto: a small circuit on one thread
    assert metrics["timing"]["total_seconds"] >= metrics["timing"]["train_seconds"] > 0


def _png_ok(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


# qhybrid's default model (g10) with its INT8 export (timed once) and its figures; 2 folds, no baselines
DEFAULT_RUN = ["train", "data=iris_binary", *fast(keep=["quantization", "plots"]), "quantization.latency_repeats=1"]


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory) -> list[tuple[CliResult, Path]]:
    """The installed command run twice with the same settings, in two processes side by side,
    each from a folder of its own (the run folder is the default one under ./outputs/):
    [(the command's result, its run folder)]."""
    folders = [tmp_path_factory.mktemp(f"default_{i}") for i in range(2)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda cwd: run_cli(DEFAULT_RUN, cwd=cwd), folders))
    runs = []
    for result, cwd in zip(results, folders):
        assert result.returncode == 0, result.stderr
        made = list((cwd / "outputs").glob("*/*"))
        assert len(made) == 1, made
        runs.append((result, made[0]))
    return runs


@HEAVY
def test_train_writes_a_complete_run_folder(default_runs):
    result, run = default_runs[0]
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    for png in ("roc.png", "pr.png", "confusion_matrix.png", "learning_curves.png"):
        assert _png_ok(run / png), png
    metrics = json.loads((run / "metrics.json").read_text())
    _check_schema(metrics, 2)
    assert metrics["task"] == "binary" and metrics["classes"] == ["versicolor", "virginica"]
    assert metrics["n_samples"] == 100 and metrics["n_features"] == 4
    assert {"sensitivity", "specificity"} <= set(metrics["summary"])
    folds = pd.read_csv(run / "folds.csv")
    assert folds["fold"].tolist() == [0, 1]
    np.testing.assert_allclose(folds["accuracy"].mean(), metrics["summary"]["accuracy"]["mean"])
    # every sample is tested exactly once across the folds
    predictions = pd.read_csv(run / "predictions.csv")
    assert sorted(predictions["row"]) == list(range(100))
    env = json.loads((run / "environment.json").read_text())
    assert env["packages"]["torch"] == torch.__version__.split("+")[0] or env["packages"]["torch"] == torch.__version__
    assert "run folder:" in result.stdout and str(run.name) in result.stdout


def test_checkpoint_reloads_and_reproduces_the_fold(tmp_path, cli):
    from qhybrid.build import build_model
    from qhybrid.data import load_dataset
    from qhybrid.data.preprocess import FoldPreprocessor
    from qhybrid.schema import ModelSpec, BuiltinDataSpec
    from qhybrid.training.checkpoints import load_checkpoint
    from qhybrid.training.engine import predict_proba

    run = tmp_path / "run"
    result = cli(["train", "model=g0", "data=iris", *FAST, f"hydra.run.dir={run}"])
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(run / "predictions.csv")
    data = load_dataset(BuiltinDataSpec(name="iris"))
    assert sorted(predictions["fold"].unique()) == [0, 1]
    for k in range(2):
        ckpt = load_checkpoint(run / "checkpoints" / f"fold_{k}.pt")  # weights_only=True inside
        assert ckpt["classes"] == data.classes and ckpt["feature_names"] == data.feature_names
        assert ckpt["config"]["model"]["name"] == "g0" and ckpt["qhybrid_version"]
        model = build_model(ModelSpec(**ckpt["model_spec"]), ckpt["n_features"], len(ckpt["classes"]))
        model.load_state_dict(ckpt["state_dict"])
        pre = FoldPreprocessor.from_state_dict(ckpt["preprocessing"])
        mine = predictions[predictions["fold"] == k]
        X = torch.as_tensor(pre.transform(data.X[mine["row"].to_numpy()]), dtype=torch.float32)
        proba = predict_proba(model, X)
        np.testing.assert_allclose(proba, mine[[f"proba_{c}" for c in data.classes]].to_numpy(), rtol=1e-6)


def test_holdout_with_a_fixed_test_file(tmp_path, iris_csv, cli):
    frame = pd.read_csv(iris_csv).sample(frac=1.0, random_state=0)
    frame.iloc[:110].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[110:].to_csv(tmp_path / "test.csv", index=False)
    run = tmp_path / "run"
    result = cli(["train", "model=g0", "data=csv", "data.path=train.csv", "data.target=species",
                  "data.test_path=test.csv", "cv=holdout", *fast(keep=["cv.n_splits"]), f"hydra.run.dir={run}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    _check_schema(metrics, 1)
    fold = metrics["folds"][0]
    assert fold["n_test"] == 40 and fold["n_train"] + fold["n_val"] == 110
    predictions = pd.read_csv(run / "predictions.csv")
    assert predictions["row"].tolist() == list(range(110, 150))
    expected = frame.iloc[110:]["species"].tolist()
    assert predictions["y_true"].tolist() == expected


def test_two_job_multirun(tmp_path, cli):
    sweep = tmp_path / "sweep"
    result = cli(["train", "-m", "seed=0,1", "model=g0", "data=iris", *FAST, f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 0, result.stderr
    assert (sweep / "multirun.yaml").is_file()
    metrics = [json.loads((sweep / str(i) / "metrics.json").read_text()) for i in (0, 1)]
    for i, m in enumerate(metrics):
        assert json.loads(json.dumps(m))["seed"] == i
        assert (sweep / str(i) / "train.log").is_file()
    assert metrics[0]["folds"] != metrics[1]["folds"]  # different seeds, different folds


def test_a_bad_value_in_a_sweep_is_refused_before_any_job_runs(tmp_path, cli):
    sweep = tmp_path / "sweep"
    result = cli(["train", "-m", "data=iris", "trainer.max_epochs=-1,2", f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "the sweep's job trainer.max_epochs=-1: trainer.max_epochs=-1 is out of range" in result.stderr
    assert not sweep.exists()


def test_a_failing_multirun_job_does_not_stop_the_other(tmp_path, broken_data_conf, cli):
    sweep = tmp_path / "sweep"
    result = cli(["train", "--config-dir", str(broken_data_conf), "-m", "model=g0", "data=broken,iris", *FAST,
                  f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 1
    assert "single class" in result.stderr and "1 job(s) failed: 0:" in result.stderr
    assert not (sweep / "0" / "metrics.json").exists()
    assert json.loads((sweep / "1" / "metrics.json").read_text())["folds"][0]["epochs_run"] <= 2


@HEAVY
def test_same_seed_gives_identical_metrics(default_runs):
    # two processes (a set's order or a hash seed that leaked into the numbers would differ);
    # the default model with its INT8 export, whose metrics are compared too
    outs = [json.loads((run / "metrics.json").read_text()) for _, run in default_runs]
    assert all("int8" in fold for fold in outs[0]["folds"])
    # everything but wall-clock measurements
    strip = lambda m: [{k: (v if k != "int8" else v["metrics"]) for k, v in f.items() if k != "train_seconds"}
                       for f in m["folds"]]
    assert strip(outs[0]) == strip(outs[1])


@pytest.mark.slow
def test_breast_cancer_reaches_the_expected_auc(tmp_path):
    run = tmp_path / "run"
    result = run_cli(["train", "model=g0", "data=breast_cancer", "cv=stratified_kfold", f"hydra.run.dir={run}"],
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "metrics.json").read_text())["summary"]["roc_auc"]["mean"] >= 0.98


def test_plots_false_writes_every_number_and_no_figure(tmp_path, cli):
    run = tmp_path / "run"
    result = cli(["train", "model=g0", "data=iris_binary", *fast(), f"hydra.run.dir={run}"])  # the preset: plots=false
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "metrics.json").read_text())["summary"]["roc_auc"]["mean"] is not None
    assert (run / "predictions.csv").is_file() and not list(run.glob("*.png"))
    one_line(cli(["train", "model=g0", *fast("plots=maybe")]), "plots='maybe'")
