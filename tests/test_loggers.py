"""logger=[csv,tensorboard,wandb] (qhybrid.loggers): several loggers at once, each with every
fold's curves and test metrics; csv on by default; TensorBoard's files read by TensorBoard's own
reader; W&B offline; a missing package is one line."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from helpers.presets import fast


def test_csv_tensorboard_and_wandb_together_hold_every_folds_curves(cli, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    result = cli(["train", "model=g0", "data=iris_binary", "logger=[csv,tensorboard,wandb]", *fast(),
                  f"hydra.run.dir={out}"])
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    epochs = pd.read_csv(out / "epochs.csv")
    assert sorted(epochs["fold"].unique()) == [0, 1]
    assert epochs.groupby("fold")["epoch"].max().tolist() == [r["epochs_run"] for r in metrics["folds"]]
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"fold_0/train_loss", "fold_1/val_loss", "test/roc_auc", "summary/roc_auc"} <= set(tags)
    logged = [e.value for e in events.Scalars("test/roc_auc")]
    assert logged == pytest.approx([r["roc_auc"] for r in metrics["folds"]])
    losses = [e.value for e in events.Scalars("fold_0/train_loss")]
    assert losses == pytest.approx(epochs.query("fold == 0")["train_loss"].tolist())
    offline = list((out / "wandb").glob("offline-run-*/*.wandb"))
    assert len(offline) == 1 and offline[0].stat().st_size > 0


def test_csv_is_on_by_default_and_none_switches_every_logger_off(cli, tmp_path):
    for logger, expected in (([], True), (["logger=none"], False)):
        out = tmp_path / f"run{len(logger)}"
        result = cli(["train", "model=g0", "data=iris_binary", *logger, *fast(), f"hydra.run.dir={out}"])
        assert result.returncode == 0, result.stderr
        assert (out / "epochs.csv").exists() == expected


def test_a_logger_whose_package_is_missing_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    result = cli(["train", "model=g0", "data=iris_binary", "logger=[csv,wandb]", *fast(),
                  f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode != 0 and "pip install 'qhybrid[tracking]'" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
