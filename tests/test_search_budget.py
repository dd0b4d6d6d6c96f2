"""search.budget=N (qhybrid.search): the same number of trials for the hybrid and each
baseline, inside each outer fold, scored on the fold's fit rows only; the fold then trains
each side with its best trial's settings."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.presets import fast
from qhybrid.data import load_dataset
from qhybrid.schema import BuiltinDataSpec
from qhybrid.search import inner_splits, with_settings


def test_each_model_gets_the_budget_and_the_fold_trains_with_its_best_settings(cli, tmp_path):
    out = tmp_path / "run"
    result = cli(["train", "model=g6", "data=iris_binary", "search.budget=2", "search.inner_folds=2",
                  "controls=[frozen_quantum]", *fast("baselines=[logreg]"), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    spaces = metrics["search"]["spaces"]
    assert metrics["search"]["budget"] == 2 and set(spaces) == {"hybrid", "frozen_quantum", "logreg"}
    assert metrics["search"]["metric"] == "roc_auc"
    rows = zip(metrics["folds"], metrics["baselines"]["logreg"]["folds"], metrics["controls"]["frozen_quantum"]["folds"])
    for row, base, control in rows:
        assert row["tuned"]["trials"] == base["tuned"]["trials"] == control["tuned"]["trials"] == 2
        for dimension in spaces["hybrid"]:
            assert dimension["low"] <= row["tuned"]["params"][dimension["key"]] <= dimension["high"]
        assert 1e-3 <= base["tuned"]["params"]["C"] <= 1e3
        kept = json.loads((out / "folds" / f"fold_{row['fold']}.search.json").read_text())  # a resume reuses it
        assert kept["hybrid"]["params"] == row["tuned"]["params"]
        checkpoint = torch.load(out / "checkpoints" / f"fold_{row['fold']}.pt", weights_only=False)
        assert checkpoint["model_spec"]["quantum"]["n_layers"] == row["tuned"]["params"]["model.quantum.n_layers"]
        assert checkpoint["config"]["trainer"]["lr"] == row["tuned"]["params"]["trainer.lr"]
    report = cli(["report", str(out)])
    assert report.returncode == 0 and "each side tuned with 2 trials per fold" in report.stdout
    rows = pd.read_csv(out / "predictions.csv").query("fold == 1")
    data = load_dataset(BuiltinDataSpec(name="iris_binary"))
    table = pd.DataFrame(data.X[rows["row"].to_numpy()], columns=data.feature_names)
    table.to_csv(tmp_path / "fold1.csv", index=False)
    predicted = cli(["predict", f"run={out}", f"input={tmp_path / 'fold1.csv'}", "checkpoint=fold_1",
                     f"output={tmp_path / 'p.csv'}"])
    assert predicted.returncode == 0, predicted.stderr  # a tuned fold's model rebuilds from its checkpoint
    again = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_allclose(again[[c for c in again.columns if c.startswith("proba_")]].to_numpy(),
                               rows[[c for c in rows.columns if c.startswith("proba_")]].to_numpy(), atol=1e-5)


def test_a_trial_that_cannot_be_scored_loses_and_the_search_goes_on():
    from qhybrid.search import tune

    space = [{"key": "x", "low": 0.0, "high": 1.0}]
    best = tune(space, lambda p: float("nan") if p["x"] > 0.5 else p["x"], budget=8, metric="roc_auc", seed=0)
    assert best["trials"] == 8 and 0 <= best["params"]["x"] <= 0.5 and best["score"] == best["params"]["x"]


def test_the_inner_folds_split_the_fit_rows_alone_the_same_way_every_time(compose):
    from qhybrid.schema import validate

    spec = validate(compose(["model=g6", "search.budget=2", "search.inner_folds=3"]))
    y = np.repeat([0, 1], 20)
    first, again = inner_splits(spec, y, False, fold=0), inner_splits(spec, y, False, fold=0)
    assert len(first) == 3
    for (train, test), (train2, test2) in zip(first, again):
        assert np.array_equal(test, test2) and np.array_equal(train, train2)
        assert set(train).isdisjoint(test) and set(train) | set(test) == set(range(40))
        assert np.bincount(y[test]).tolist() in ([7, 7], [7, 6], [6, 7], [6, 6], [7, 7])  # stratified
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(first, inner_splits(spec, y, False, fold=1)))


def test_settings_reach_nested_keys_and_leave_the_rest(compose):
    from qhybrid.schema import validate

    spec = validate(compose(["model=g6"]))
    tuned = with_settings(spec, {"trainer.lr": 0.05, "model.quantum.n_layers": 3})
    assert tuned.trainer.lr == 0.05 and tuned.model.quantum.n_layers == 3
    assert spec.trainer.lr != 0.05 or spec.model.quantum.n_layers != 3  # the run's own spec is not changed
    assert tuned.model.quantum.n_qubits == spec.model.quantum.n_qubits and tuned.data == spec.data


@pytest.mark.parametrize("model", ["g0", "dressed_quantum_circuit"])
def test_the_default_space_leaves_out_what_the_model_does_not_read(compose, model):
    from qhybrid.schema import validate

    spec = validate(compose([f"model={model}", "search.budget=2"]))  # g0: no circuit; a circuit file: no n_layers
    assert [d["key"] for d in spec.search.hybrid] == ["trainer.lr", "trainer.weight_decay"]


@pytest.mark.parametrize("overrides, words", [
    (["search.budget=2", "search.hybrid=[{key: trainer.lrr, low: 0.001, high: 0.1}]"], "trainer.lrr is not a config key"),
    (["search.budget=2", "search.hybrid=[{key: model.quantum.n_qubits, low: 2, high: 4}]"], "cannot be tuned"),
    (["search.budget=2", "search.hybrid=[{key: trainer.lr, low: 0, high: 0.1, log: true}]"], "log range"),
    (["search.budget=2", "search.hybrid=[{key: trainer.lr, low: 0.1, high: 0.01}]"], "is not a range"),
    (["search.budget=2", "search.inner_folds=1"], "search.inner_folds=1"),
    (["search.budget=2", "data.imbalance=smote"], "synthetic rows"),
    (["search.budget=-1"], "search.budget"),
    (["search.budget=2", "search.metric=accuracyy"], "search.metric=accuracyy is not a metric"),
    (["search.budget=2", "search.hybrid=[{key: model.dropout, choices: [0.0, 2.0]}]"], "model.dropout=2.0"),
    (["search.budget=2", "search.hybrid=[{key: model.hidden_dims, low: 1, high: 3}]"], "not a number"),
    (["search.budget=2", "search.hybrid=[{key: trainer.val_fraction, low: 0.1, high: 0.3}]"], "cannot be tuned"),
    (["search.budget=2", "cv=walk_forward"], "time series"),
    (["search.budget=2", "refit=true"], "refit=true with search.budget"),
])
def test_a_search_that_cannot_run_is_one_line(cli, tmp_path, overrides, words):
    result = cli(["train", "model=g6", "data=iris_binary", *overrides, *fast(), f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode != 0 and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run" / "metrics.json").exists()


def test_without_optuna_the_search_says_how_to_install_it(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    result = cli(["train", "model=g6", "data=iris_binary", "search.budget=2", *fast(),
                  f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode != 0 and "pip install 'qhybrid[tune]'" in result.stderr, result.stderr
