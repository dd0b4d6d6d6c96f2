"""logger=mlflow: what a run logs (parameters, fold curves, test and summary metrics with the
baselines, the run folder's files), one line when the store is unreachable or MLflow is
missing, a warning (not a lost run) when tracking fails mid-run, and a resumed run logging
into the MLflow run it started."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from conftest import run_cli

from qhybrid import tracking
from qhybrid.errors import ConfigError, QHybridError
from qhybrid.schema import LoggerSpec

mlflow = pytest.importorskip("mlflow")


def test_flatten_names_nested_keys_and_keeps_lists_whole():
    flat = tracking.flatten({"trainer": {"lr": 0.01, "early_stopping": {"patience": 20}}, "baselines": ["logreg"],
                             "init_from": None})
    assert flat == {"trainer.lr": "0.01", "trainer.early_stopping.patience": "20", "baselines": '["logreg"]',
                    "init_from": "None"}


def test_a_run_logs_its_settings_curves_metrics_baselines_and_files(tmp_path):
    run = tmp_path / "run"
    result = run_cli(["train", "model=g0", "data=iris_binary", "trainer.max_epochs=6", "baselines=[logreg]",
                      "logger=mlflow", f"hydra.run.dir={run}"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Creating initial MLflow database tables" not in result.stdout + result.stderr  # MLflow's noise is off

    record = json.loads((run / tracking.RECORD).read_text())
    uri, _ = tracking.local_store(tmp_path)
    assert record["tracking_uri"] == uri
    client = mlflow.MlflowClient(uri)
    logged = client.get_run(record["run_id"])
    assert logged.info.status == "FINISHED" and logged.info.run_name == run.name
    assert logged.data.params["model.name"] == "g0" and logged.data.params["trainer.max_epochs"] == "6"
    assert logged.data.tags["qhybrid.run_folder"] == str(run.resolve())

    metrics = json.loads((run / "metrics.json").read_text())
    assert logged.data.metrics["accuracy"] == pytest.approx(metrics["summary"]["accuracy"]["mean"])
    assert logged.data.metrics["roc_auc_std"] == pytest.approx(metrics["summary"]["roc_auc"]["std"])
    assert logged.data.metrics["baseline/logreg/roc_auc"] == pytest.approx(
        metrics["baselines"]["logreg"]["summary"]["roc_auc"]["mean"])
    for fold in metrics["folds"]:
        curve = client.get_metric_history(record["run_id"], f"fold_{fold['fold']}/val_loss")
        assert [m.step for m in curve] == list(range(1, fold["epochs_run"] + 1))
    per_fold = client.get_metric_history(record["run_id"], "test/accuracy")
    assert [m.step for m in sorted(per_fold, key=lambda m: m.step)] == [f["fold"] for f in metrics["folds"]]
    assert [m.value for m in sorted(per_fold, key=lambda m: m.step)] == pytest.approx(
        [f["accuracy"] for f in metrics["folds"]])

    files = {a.path for a in client.list_artifacts(record["run_id"])}
    assert {"metrics.json", "folds.csv", "roc.png", "hydra", "checkpoints"} <= files
    checkpoints = {a.path for a in client.list_artifacts(record["run_id"], "checkpoints")}
    assert "checkpoints/fold_0.pt" in checkpoints


def test_an_unreachable_tracking_server_is_one_line_before_training(tmp_path):
    result = run_cli(["train", "model=g0", "data=iris_binary", "trainer.max_epochs=2", "logger=mlflow",
                      "logger.tracking_uri=http://127.0.0.1:9", f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path,
                     env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot use the tracking store http://127.0.0.1:9" in lines[0]
    assert "Traceback" not in result.stderr and "fold 1/5" not in result.stdout
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_mlflow_missing_is_a_config_error_naming_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    with pytest.raises(ConfigError) as err:
        tracking.start(LoggerSpec(name="mlflow"), tmp_path, {}, resumed=False)
    assert "pip install 'qhybrid[tracking]'" in err.value.fix


class _FailingClient:
    def log_batch(self, *args, **kwargs):
        raise RuntimeError("database is locked")

    def set_terminated(self, *args, **kwargs):
        raise AssertionError("not reached: tracking stopped at the first failure")


def test_a_tracking_failure_mid_run_is_a_warning_and_tracking_stops(caplog):
    tracker = tracking.MlflowTracker(_FailingClient(), "run-id", "sqlite:///x.db", keep_checkpoints=False,
                                     continued=False)
    outcome = type("Outcome", (), {"curves": None, "row": {"fold": 0, "accuracy": 0.5}})()
    with caplog.at_level(logging.WARNING, logger="qhybrid"):
        tracker.fold(0, outcome)
        tracker.end("FINISHED")
    assert tracker.broken
    assert any("could not log fold 0 (database is locked)" in r.getMessage() for r in caplog.records)


def test_a_resumed_run_logs_into_the_mlflow_run_it_started(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = LoggerSpec(name="mlflow")
    first = tracking.start(spec, tmp_path, {"seed": 0}, resumed=False)
    first.end("KILLED")
    again = tracking.start(spec, tmp_path, {"seed": 0}, resumed=True)
    assert again.run_id == first.run_id and again.continued
    assert mlflow.MlflowClient(again.uri).get_run(again.run_id).info.status == "RUNNING"
    fresh = tracking.start(spec, tmp_path, {"seed": 0}, resumed=False)
    assert fresh.run_id != first.run_id and not fresh.continued


def test_a_store_that_cannot_be_opened_is_a_qhybrid_error(tmp_path):
    with pytest.raises(QHybridError) as err:
        tracking.start(LoggerSpec(name="mlflow", tracking_uri="nosuchscheme://x"), tmp_path, {}, resumed=False)
    assert "cannot use the tracking store nosuchscheme://x" in str(err.value)
