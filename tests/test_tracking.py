"""logger=mlflow: what a run logs (parameters, fold curves, test and summary metrics with the
baselines, the run folder's files), one line when the store is unreachable or MLflow is
missing, a warning (not a lost run) when tracking fails mid-run, and a resumed run logging
into the MLflow run it started."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from helpers import fast
from helpers.scheduling import HEAVY

from qhybrid import tracking
from qhybrid.errors import ConfigError, QHybridError
from qhybrid.schema import LoggerSpec

mlflow = pytest.importorskip("mlflow")


def test_flatten_names_nested_keys_and_keeps_lists_whole():
    flat = tracking.flatten({"trainer": {"lr": 0.01, "early_stopping": {"patience": 20}}, "baselines": ["logreg"],
                             "init_from": None})
    assert flat == {"trainer.lr": "0.01", "trainer.early_stopping.patience": "20", "baselines": '["logreg"]',
                    "init_from": "None"}


@HEAVY
def test_a_run_logs_its_settings_curves_metrics_baselines_and_files(tmp_path, cli, monkeypatch):
    run = tmp_path / "run"
    # MLflow's logger as importing it leaves it in a fresh process: an earlier run in this one quietened it
    monkeypatch.setattr(logging.getLogger("mlflow"), "level", logging.INFO)
    result = cli(["train", "model=g0", "data=iris_binary", *fast("trainer.max_epochs=6", "baselines=[logreg]", keep=["plots"]),
                  "logger=mlflow", f"hydra.run.dir={run}"])
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


def test_an_unreachable_tracking_server_is_one_line_before_training(tmp_path, cli):
    result = cli(["train", "model=g0", "data=iris_binary", "trainer.max_epochs=2", "logger=mlflow",
                  "logger.tracking_uri=http://127.0.0.1:9", f"hydra.run.dir={tmp_path / 'run'}"],
                 env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot use the tracking store http://127.0.0.1:9" in lines[0]
    assert "Traceback" not in result.stderr and "fold 0 (1 of 5)" not in result.stdout
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_mlflow_missing_is_a_config_error_naming_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    with pytest.raises(ConfigError) as err:
        tracking.start(LoggerSpec(name="mlflow"), tmp_path, {}, resumed=False)
    assert "pip install 'qhybrid[tracking]'" in err.value.fix


class _FailingClient:
    def __init__(self):
        self.batches, self.ended = 0, None

    def log_batch(self, *args, **kwargs):
        self.batches += 1
        raise RuntimeError("database is locked")

    def set_terminated(self, run_id, status):
        self.ended = status


def test_a_tracking_failure_mid_run_is_a_warning_and_the_run_is_still_marked_ended(caplog):
    tracker = tracking.MlflowTracker(_FailingClient(), "run-id", "sqlite:///x.db", keep_checkpoints=False)
    outcome = type("Outcome", (), {"curves": None, "row": {"fold": 0, "accuracy": 0.5}})()
    with caplog.at_level(logging.WARNING, logger="qhybrid"):
        tracker.fold(0, outcome)
        tracker.fold(1, outcome)  # tracking stopped at the first failure
        tracker.end("FINISHED")
    assert tracker.broken and tracker.client.batches == 1
    assert tracker.client.ended == "FINISHED"  # not left RUNNING
    assert any("could not log fold 0 (database is locked)" in r.getMessage() for r in caplog.records)


def _outcome(accuracy: float):
    return type("Outcome", (), {"curves": None, "row": {"fold": 0, "accuracy": accuracy}})()


def test_a_resumed_run_logs_into_the_mlflow_run_it_started_from_any_directory(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.chdir(tmp_path)
    spec = LoggerSpec(name="mlflow")
    first = tracking.start(spec, run, {"seed": 0}, resumed=False)
    first.fold(0, _outcome(0.9))
    first.end("KILLED")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the default store is ./mlruns: the record says where the run is
    again = tracking.start(spec, run, {"seed": 0}, resumed=True)
    assert again.run_id == first.run_id and again.logged == {0}
    client = mlflow.MlflowClient(again.uri)
    assert client.get_run(again.run_id).info.status == "RUNNING"
    again.fold(0, _outcome(0.9))  # already there: not logged twice
    again.fold(1, _outcome(0.8))
    assert sorted(m.step for m in client.get_metric_history(again.run_id, "test/accuracy")) == [0, 1]
    assert not (elsewhere / "mlruns").exists()

    fresh = tracking.start(spec, run, {"seed": 0}, resumed=False)
    assert fresh.run_id != first.run_id and fresh.logged == set()


def test_a_resumed_run_whose_mlflow_run_is_gone_logs_to_a_new_one(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    spec = LoggerSpec(name="mlflow")
    first = tracking.start(spec, tmp_path, {"seed": 0}, resumed=False)
    record = json.loads((tmp_path / tracking.RECORD).read_text())
    (tmp_path / tracking.RECORD).write_text(json.dumps({**record, "run_id": "0" * 32}))
    with caplog.at_level(logging.WARNING, logger="qhybrid"):
        again = tracking.start(spec, tmp_path, {"seed": 0}, resumed=True)
    assert again.run_id not in (first.run_id, "0" * 32) and again.logged == set()
    assert any("logging to a new run" in r.getMessage() for r in caplog.records)


def test_a_default_store_that_cannot_be_created_is_one_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlruns").write_text("a file where the store's folder goes")
    with pytest.raises(QHybridError) as err:
        tracking.start(LoggerSpec(name="mlflow"), tmp_path, {}, resumed=False)
    assert "cannot use the tracking store" in str(err.value)


def test_a_store_that_cannot_be_opened_is_a_qhybrid_error(tmp_path):
    with pytest.raises(QHybridError) as err:
        tracking.start(LoggerSpec(name="mlflow", tracking_uri="nosuchscheme://x"), tmp_path, {}, resumed=False)
    assert "cannot use the tracking store nosuchscheme://x" in str(err.value)
