"""The loggers beside MLflow, several at once (``logger=[csv,tensorboard,wandb,mlflow]``):
each fold's learning curves and test metrics as the fold finishes, the run's summary at the end.

* ``csv`` (on by default): ``epochs.csv`` in the run folder, one row per fold and epoch
  (the curves the learning-curve figure draws), rewritten atomically after each fold;
* ``tensorboard``: event files under ``<run folder>/tensorboard`` (or ``logger.tensorboard.log_dir``);
* ``wandb``: a Weights & Biases run, ``offline`` by default (synced later with ``wandb sync``).

Like MLflow's, a logger that fails mid-run is one warning and the run goes on: the run
folder has everything.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from qhybrid import io
from qhybrid.errors import ConfigError, QHybridError, first_line
from qhybrid.spec_checks import choice

log = logging.getLogger("qhybrid")

WANDB_MODES = ("offline", "online", "disabled")


@dataclass
class CsvLogSpec:
    file: str = "epochs.csv"  # in the run folder


@dataclass
class TensorBoardSpec:
    log_dir: Optional[str] = None  # null: <run folder>/tensorboard


@dataclass
class WandbSpec:
    project: str = "qhybrid"
    entity: Optional[str] = None
    mode: str = "offline"  # offline: files under the run folder, `wandb sync` uploads them later

    def check(self) -> None:
        choice("logger.wandb.mode", self.mode, WANDB_MODES)


def _curves(index: int, outcome) -> list[dict[str, Any]]:
    history = outcome.curves.history if outcome.curves is not None else []
    return [{"fold": index, **epoch} for epoch in history]


def _tests(outcome) -> dict[str, float]:
    return {k: float(v) for k, v in outcome.row.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "fold"}


class Guarded:
    """A logger's failure mid-run is a warning; it stops that logger only."""

    name = "logger"

    def __init__(self):
        self.broken = False

    def _safely(self, what: str, action) -> None:
        if self.broken:
            return
        try:
            action()
        except Exception as err:  # noqa: BLE001 - any library's failure: the run folder has everything
            self.broken = True
            log.warning("%s: could not log %s (%s); it stops for this run, the run folder has everything",
                        self.name, what, self._describe(err))

    @staticmethod
    def _describe(err: Exception) -> str:
        return first_line(err, 200, typed=True)

    def fold(self, index: int, outcome) -> None:
        self._safely(f"fold {index}", lambda: self._fold(index, outcome))

    def finish(self, metrics: dict[str, Any], out: Path) -> None:
        self._safely("the summary", lambda: self._finish(metrics))

    def end(self, status: str) -> None:
        pass

    def _finish(self, metrics: dict[str, Any]) -> None:
        pass


class CsvLogger(Guarded):
    name = "logger=csv"

    def __init__(self, path: Path):
        super().__init__()
        self.path, self.rows = path, {}

    def _fold(self, index: int, outcome) -> None:
        self.rows[index] = _curves(index, outcome)
        rows = [row for k in sorted(self.rows) for row in self.rows[k]]
        columns = list(dict.fromkeys(key for row in rows for key in row))
        io.write_csv(self.path, rows, columns)


class TensorBoardLogger(Guarded):
    name = "logger=tensorboard"

    def __init__(self, writer):
        super().__init__()
        self.writer = writer

    def _fold(self, index: int, outcome) -> None:
        for epoch in _curves(index, outcome):
            for key, value in epoch.items():
                if key not in ("fold", "epoch") and isinstance(value, (int, float)):
                    self.writer.add_scalar(f"fold_{index}/{key}", value, int(epoch["epoch"]))
        for key, value in _tests(outcome).items():
            self.writer.add_scalar(f"test/{key}", value, index)
        self.writer.flush()

    def _finish(self, metrics: dict[str, Any]) -> None:
        for name, stat in metrics["summary"].items():
            if stat["mean"] is not None:
                self.writer.add_scalar(f"summary/{name}", stat["mean"], 0)
        self.writer.flush()

    def end(self, status: str) -> None:
        self._safely("the end of the run", self.writer.close)


class WandbLogger(Guarded):
    name = "logger=wandb"

    def __init__(self, run):
        super().__init__()
        self.run = run

    def _fold(self, index: int, outcome) -> None:
        for epoch in _curves(index, outcome):
            self.run.log({f"fold_{index}/{k}": v for k, v in epoch.items() if k != "fold"})
        self.run.log({f"test/{k}": v for k, v in _tests(outcome).items()} | {"fold": index})

    def _finish(self, metrics: dict[str, Any]) -> None:
        self.run.summary.update({name: stat["mean"] for name, stat in metrics["summary"].items()})

    def end(self, status: str) -> None:
        self._safely("the end of the run", lambda: self.run.finish(exit_code=0 if status == "FINISHED" else 1))


def csv_logger(spec: CsvLogSpec, out: Path, config: dict, resumed: bool) -> CsvLogger:
    return CsvLogger(out / spec.file)


PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}  # logger -> the module it needs


def check_package(name: str) -> None:
    """A logger's package is there, or one line naming the extra."""
    module = PACKAGES.get(name)
    if module is None:
        return
    try:
        present = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None (tests), or a broken install
        present = False
    if not present:
        raise ConfigError(f"logger={name} needs the {module} package, which is not installed",
                          f"pip install 'qhybrid[tracking]' (or pip install {module}), or drop {name} from logger")


def _starting(name: str, start):
    """A logger that cannot start (a folder, an account, a server) is one line, before training."""
    try:
        return start()
    except QHybridError:
        raise
    except Exception as err:  # noqa: BLE001 - each library raises its own types
        raise QHybridError(f"logger={name} could not start ({first_line(err, 200, typed=True)})",
                           f"check the logger.{name} settings, or drop {name} from logger") from None


def tensorboard_logger(spec: TensorBoardSpec, out: Path, config: dict, resumed: bool) -> TensorBoardLogger:
    from torch.utils.tensorboard import SummaryWriter  # checked by check_package

    log_dir = str(Path(spec.log_dir) if spec.log_dir else out / "tensorboard")
    return TensorBoardLogger(_starting("tensorboard", lambda: SummaryWriter(log_dir=log_dir)))


def wandb_logger(spec: WandbSpec, out: Path, config: dict, resumed: bool) -> WandbLogger:
    import wandb  # checked by check_package

    logging.getLogger("wandb").setLevel(logging.WARNING)
    settings = wandb.Settings(silent=True, console="off")
    # a resumed run opens a W&B run of its own (its restored folds logged again)
    return WandbLogger(_starting("wandb", lambda: wandb.init(
        project=spec.project, entity=spec.entity, mode=spec.mode, dir=str(out), name=out.name,
        config={k: v for k, v in config.items() if k != "hydra"}, settings=settings, reinit="create_new")))


class Fanout:
    """Several loggers as one tracker (qhybrid.tracking's interface)."""

    def __init__(self, trackers: list):
        self.trackers = trackers

    def fold(self, index: int, outcome) -> None:
        for tracker in self.trackers:
            tracker.fold(index, outcome)

    def finish(self, metrics: dict[str, Any], out: Path) -> None:
        for tracker in self.trackers:
            tracker.finish(metrics, out)

    def end(self, status: str) -> None:
        for tracker in self.trackers:
            tracker.end(status)


EXTRA_LOGGERS = {"csv": csv_logger, "tensorboard": tensorboard_logger, "wandb": wandb_logger}
EXTRA_SPECS = {"csv": CsvLogSpec, "tensorboard": TensorBoardSpec, "wandb": WandbSpec}
EXTRA_DESCRIPTIONS = {"csv": "epochs.csv: every fold's learning curves (on by default)",
                      "tensorboard": "TensorBoard event files: curves, test metrics, summary",
                      "wandb": "Weights & Biases (offline by default): settings, curves, test metrics, summary"}
