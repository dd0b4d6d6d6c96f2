"""Experiment tracking, `logger=mlflow`: the run's settings as parameters, each fold's
learning curves and test metrics as it finishes, the summary (with the baselines) and the
run folder's files as artefacts.

The run folder stays the record: tracking that fails mid-run is one warning and the run
goes on; only a store that cannot be reached at the start stops the run, before any
training. By default the store is a SQLite file under ./mlruns (no server; MLflow 3 has put
its plain-file store in maintenance mode and refuses it unless told otherwise); any
tracking URI MLflow accepts (http://host:5000, databricks, sqlite:///path.db) works.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from qhybrid import __version__, io
from qhybrid.errors import ConfigError, QHybridError, first_line
from qhybrid.loggers import (EXTRA_DESCRIPTIONS, EXTRA_LOGGERS, EXTRA_SPECS, CsvLogSpec, Fanout, Guarded,
                             TensorBoardSpec, WandbSpec, check_package)
from qhybrid.registry import Registry

log = logging.getLogger("qhybrid")

RECORD = "mlflow_run.json"  # in the run folder: where its MLflow run is (a resumed run continues it)
LOCAL_STORE = "mlruns"
# a whole sweep writing metrics and artefacts should not hang on a server that went away
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


@dataclass
class LoggerSpec:
    """Experiment tracking beside the run folder (qhybrid/tracking.py)."""

    name: str = "none"
    tracking_uri: Optional[str] = None  # null: a SQLite store under ./mlruns (no server)
    experiment: str = "qhybrid"
    log_checkpoints: bool = True  # the folds' checkpoints as artefacts too
    module: Optional[str] = None  # a logger of your own: the module that registers it in LOGGERS
    # the loggers beside it (qhybrid.loggers), present when logger=[..., csv, tensorboard, wandb] names them
    csv: Optional[CsvLogSpec] = None
    tensorboard: Optional[TensorBoardSpec] = None
    wandb: Optional[WandbSpec] = None

    def check(self) -> None:
        LOGGERS.get(self.name, self.module, key="logger.name")
        if self.wandb is not None:
            self.wandb.check()
        if not self.experiment:
            raise ConfigError("logger.experiment is empty",
                              "name the MLflow experiment, e.g. logger.experiment=qhybrid")


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{"trainer": {"lr": 0.01}} -> {"trainer.lr": "0.01"}; lists stay whole values."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return flat


def local_store(cwd: Path) -> tuple[str, Path]:
    """The default store: a SQLite database and an artefact folder under <cwd>/mlruns."""
    root = (cwd / LOCAL_STORE).resolve()
    return f"sqlite:///{root / 'mlflow.db'}", root / "artifacts"


def _first_line(err: BaseException) -> str:
    cause = re.search(r"\[Errno -?\d+\] ([^'\"\])]+)", str(err))  # e.g. "Connection refused" deep in an HTTP error
    return cause.group(1).strip() if cause else first_line(err)


class NoTracker:
    """logger=none, and the interface a logger's tracker has: ``fold`` after each fold (its
    FoldOutcome), ``finish`` with metrics.json's content, ``end`` with the run's status."""

    def fold(self, index: int, outcome) -> None:
        pass

    def finish(self, metrics: dict[str, Any], out: Path) -> None:
        pass

    def end(self, status: str) -> None:
        pass


class MlflowTracker(Guarded):
    """A tracking failure mid-run is a warning (Guarded): the run folder has everything."""

    name = "mlflow"

    def __init__(self, client, run_id: str, uri: str, keep_checkpoints: bool, logged: frozenset = frozenset()):
        super().__init__()
        self.client, self.run_id, self.uri, self.keep_checkpoints = client, run_id, uri, keep_checkpoints
        self.logged = set(logged)  # folds already in the MLflow run (a resumed run continues it)
        self.ended = False

    @staticmethod
    def _describe(err: Exception) -> str:  # MLflow raises many types (HTTP, SQL, validation)
        return _first_line(err)

    def _metrics(self, values: list[tuple[str, float, int]]) -> None:
        from mlflow.entities import Metric  # optional: pip install 'qhybrid[tracking]'

        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, step) for key, value, step in values
                   if isinstance(value, (int, float)) and not isinstance(value, bool)]
        for begin in range(0, len(metrics), 1000):  # MLflow's limit per batch
            self.client.log_batch(self.run_id, metrics=metrics[begin:begin + 1000])

    def fold(self, index: int, outcome) -> None:
        """A finished fold: its learning curves (step = epoch) and test metrics (step = fold).
        The test metrics go last: a fold counts as logged once they are there."""
        if index in self.logged:
            return
        self.logged.add(index)
        history = outcome.curves.history if outcome.curves is not None else []
        values = [(f"fold_{index}/{key}", value, int(epoch["epoch"])) for epoch in history
                  for key, value in epoch.items() if key != "epoch"]
        values += [(f"test/{key}", value, index) for key, value in outcome.row.items()
                   if key not in ("fold", "confusion_matrix")]
        self._safely(f"fold {index}", lambda: self._metrics(values))

    def finish(self, metrics: dict[str, Any], out: Path) -> None:
        values = [(name, stat["mean"], 0) for name, stat in metrics["summary"].items()]
        values += [(f"{name}_std", stat["std"], 0) for name, stat in metrics["summary"].items()]
        for baseline, record in metrics["baselines"].items():
            values += [(f"baseline/{baseline}/{name}", stat["mean"], 0) for name, stat in record["summary"].items()]
        values.append(("n_parameters", metrics["model"]["n_parameters"], 0))
        values.append(("total_seconds", metrics["timing"]["total_seconds"], 0))
        self._safely("the summary", lambda: self._metrics(values))
        self._safely("the run folder's files", lambda: self._artifacts(out))

    def _artifacts(self, out: Path) -> None:
        for path in sorted(out.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                self.client.log_artifact(self.run_id, str(path))
        if (out / ".hydra").is_dir():
            self.client.log_artifacts(self.run_id, str(out / ".hydra"), "hydra")
        if self.keep_checkpoints and (out / "checkpoints").is_dir():
            self.client.log_artifacts(self.run_id, str(out / "checkpoints"), "checkpoints")

    def end(self, status: str) -> None:
        """Mark the MLflow run ended, even after a logging failure (else it shows RUNNING forever)."""
        if self.ended:
            return
        self.ended = True
        try:
            self.client.set_terminated(self.run_id, status)
        except Exception as err:  # MLflow raises many types (HTTP, SQL, validation)
            log.warning("mlflow: could not mark run %s %s (%s)", self.run_id, status, _first_line(err))
            return
        if status == "FINISHED" and not self.broken:
            log.info("mlflow: run %s in %s", self.run_id, self.uri)


def _client(uri: str, artifact_root: Optional[Path], experiment: str):
    from mlflow import MlflowClient  # optional: pip install 'qhybrid[tracking]'

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return client, found.experiment_id
    location = artifact_root.as_uri() if artifact_root is not None else None
    try:
        return client, client.create_experiment(experiment, artifact_location=location)
    except Exception:  # another job of the sweep created it in the meantime
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise
        return client, found.experiment_id


def start(spec, out: Path, config: dict[str, Any], resumed: bool):
    """Open the run's trackers: the builder ``logger.name`` registers in LOGGERS (MLflow, or
    none), and each of csv, tensorboard, wandb that the logger list names."""
    extras = [(name, build) for name, build in EXTRA_LOGGERS.items()
              if getattr(spec, name) is not None and name != spec.name]
    for name, _ in extras:  # every package first: no tracker is opened for a run another one refuses
        check_package(name)
    trackers = [LOGGERS.get(spec.name, spec.module, key="logger.name").build(spec, out, config, resumed)]
    try:
        trackers += [build(getattr(spec, name), out, config, resumed) for name, build in extras]
    except BaseException:
        for tracker in trackers:  # an MLflow run left RUNNING forever otherwise
            tracker.end("FAILED")
        raise
    return trackers[0] if len(trackers) == 1 else Fanout(trackers)


def no_tracker(spec, out: Path, config: dict[str, Any], resumed: bool) -> "NoTracker":
    return NoTracker()


def start_mlflow(spec, out: Path, config: dict[str, Any], resumed: bool) -> "MlflowTracker":
    try:
        import mlflow  # noqa: F401  (optional: pip install 'qhybrid[tracking]')
    except ImportError:
        raise ConfigError("logger=mlflow needs the mlflow package, which is not installed",
                          "pip install 'qhybrid[tracking]' (or mlflow-skinny), or drop logger=mlflow") from None
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    # MLflow's own INFO lines (creating tables) and urllib3's retry warnings: the outcome is one line of ours
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    earlier = _record(out) if resumed else None
    uri = spec.tracking_uri
    if uri is None and earlier is not None:
        uri = earlier["tracking_uri"]  # where the interrupted run logged, whatever the directory now
    try:
        artifact_root = None
        if uri is None:
            uri, artifact_root = local_store(Path.cwd())
            artifact_root.mkdir(parents=True, exist_ok=True)
        client, experiment_id = _locked_client(uri, artifact_root, spec.experiment)
        run_id, logged = _reopen(client, earlier, uri) if earlier is not None else (None, frozenset())
        if run_id is None:
            run_id = _new_run(client, experiment_id, out, config)
    except Exception as err:  # MLflow raises many types (HTTP, SQL, validation); OSError for the folder
        raise QHybridError(f"logger=mlflow: cannot use the tracking store {uri} ({_first_line(err)})",
                           "start the tracking server or fix logger.tracking_uri, or drop logger=mlflow") from None
    io.write_json(out / RECORD, {"tracking_uri": uri, "experiment_id": experiment_id, "run_id": run_id})
    return MlflowTracker(client, run_id, uri, spec.log_checkpoints, logged)


def _locked_client(uri: str, artifact_root: Optional[Path], experiment: str):
    if artifact_root is None:
        return _client(uri, None, experiment)
    from filelock import FileLock  # optional: pip install 'qhybrid[tracking]'

    # the jobs of a parallel sweep start together: one at a time creates the store's tables
    with FileLock(str(artifact_root.parent / ".lock")):
        return _client(uri, artifact_root, experiment)


def _record(out: Path) -> Optional[dict[str, Any]]:
    path = out / RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def _reopen(client, earlier: dict[str, Any], uri: str) -> tuple[Optional[str], frozenset]:
    """A resumed run logs into the MLflow run it started, and learns which folds are there
    (a fold interrupted while being logged is logged again)."""
    if earlier["tracking_uri"] != uri:
        return None, frozenset()  # the user chose another store: a new run there
    run_id = earlier["run_id"]
    try:
        client.get_run(run_id)
    except Exception as err:  # the store was moved or cleared
        log.warning("mlflow: run %s is not in %s (%s); logging to a new run", run_id, uri, _first_line(err))
        return None, frozenset()
    client.update_run(run_id, status="RUNNING")
    # a fold is logged once its test metrics are: accuracy for classes, r2 for regression
    logged = frozenset(m.step for key in ("test/accuracy", "test/r2") for m in client.get_metric_history(run_id, key))
    return run_id, logged


def _new_run(client, experiment_id: str, out: Path, config: dict[str, Any]) -> str:
    from mlflow.entities import Param  # optional: pip install 'qhybrid[tracking]'

    tags = {"qhybrid.version": __version__, "qhybrid.run_folder": str(out.resolve())}
    overrides = out / ".hydra" / "overrides.yaml"
    if overrides.is_file():
        tags["qhybrid.overrides"] = " ".join(yaml.safe_load(overrides.read_text()) or [])
    run = client.create_run(experiment_id, tags=tags, run_name=out.name)
    settings = flatten({k: v for k, v in config.items() if k != "hydra"})
    # MLflow caps a parameter's value at 6000 characters; the whole config is an artefact
    params = [Param(k, v if len(v) <= 6000 else v[:5997] + "...") for k, v in settings.items()]
    for begin in range(0, len(params), 100):  # MLflow's limit per batch
        client.log_batch(run.info.run_id, params=params[begin:begin + 100])
    return run.info.run_id


class Session:
    """Ends the tracker with the run's outcome, whatever stops the run."""

    def __init__(self):
        self.tracker: Any = NoTracker()

    def start(self, spec, out: Path, config: dict[str, Any], resumed: bool):
        self.tracker = start(spec, out, config, resumed)
        return self.tracker

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, kind, err, traceback) -> None:
        status = "FINISHED" if kind is None else "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
        self.tracker.end(status)


# builder(logger spec, run folder, the run's config, resumed) -> a tracker (NoTracker's methods)
LOGGERS = Registry("logger", "logger")
LOGGERS.add("none", None, no_tracker, "no experiment tracker: the run folder only")
LOGGERS.add("mlflow", None, start_mlflow, "MLflow: parameters, curves, metrics and artefacts (./mlruns or a server)")
# loggers that go beside the main one (logger=[csv,tensorboard,...] adds their blocks); as
# logger.name they run alone, with their block's defaults
for _name, _build in EXTRA_LOGGERS.items():
    LOGGERS.add(_name, None, lambda spec, out, config, resumed, name=_name, build=_build: build(
        getattr(spec, name) or EXTRA_SPECS[name](), out, config, resumed), EXTRA_DESCRIPTIONS[_name])
