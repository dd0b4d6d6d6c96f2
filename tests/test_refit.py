"""refit=true (qhybrid.refit): after CV, a final model on every row for the folds' median best
epoch, saved as checkpoints/final.pt and used by predict by default; a fixed test file's rows
are never trained on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.presets import fast
from qhybrid.predict import Predictor


def test_the_final_model_trains_on_every_row_for_the_folds_epochs_and_predict_uses_it(cli, tmp_path):
    out = tmp_path / "run"
    result = cli(["train", "model=g0", "data=iris_binary", "refit=true", "trainer.early_stopping.patience=1",
                  *fast("trainer.max_epochs=6", keep=["trainer.early_stopping.patience"]), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    best = [r["best_epoch"] for r in metrics["folds"]]
    final = metrics["final"]
    assert final["epochs"] == max(1, round(float(np.median(best)))) and final["n_rows"] == 100
    payload = torch.load(out / "checkpoints" / "final.pt", weights_only=True)
    assert payload["best_epoch"] == final["epochs"] and payload["fold"] == -1
    assert Predictor(out).payloads[0]["fold"] == -1  # predict's default: the final model
    assert Predictor(out, "fold_1").payloads[0]["fold"] == 1
    reproduced = cli(["predict", f"run={out}", "input=fold_1", f"output={tmp_path / 'p.csv'}"])
    assert reproduced.returncode == 0, reproduced.stderr  # input=fold_<k>: that fold's own model, not the final one
    printed = json.loads(reproduced.stdout.strip().splitlines()[-1])
    assert printed["accuracy"] == pytest.approx(metrics["folds"][1]["accuracy"])


def test_a_run_that_reduces_its_features_refits_at_the_reduced_width(cli, tmp_path):
    out = tmp_path / "run"  # genomics: PCA inside the folds, the model reads 4 components of 100 SNPs
    result = cli(["train", "model=g0", "data=genomics", "data.n_snps=100", "refit=true", *fast(),
                  f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    assert "error" not in json.loads((out / "metrics.json").read_text())["final"]
    assert (out / "checkpoints" / "final.pt").is_file()


def test_with_a_fixed_test_file_the_final_model_never_sees_its_rows(cli, tmp_path, iris_csv):
    table = pd.read_csv(iris_csv)
    table.iloc[:120].to_csv(tmp_path / "train.csv", index=False)
    table.iloc[120:].to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "run"
    result = cli(["train", "model=g0", "data=csv", f"data.path={tmp_path / 'train.csv'}",
                  f"data.test_path={tmp_path / 'test.csv'}", "data.target=species", "cv=holdout", "refit=true",
                  *fast(keep=["cv.n_splits"]), f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "metrics.json").read_text())["final"]["n_rows"] == 120
