"""`hydra/sweeper=optuna_cv`: hyperparameter search over qhybrid runs with Optuna.

Each trial is one `qhybrid train` job (any launcher runs it: joblib, submitit/SLURM); its
objective is the mean cross-validated metric the job returns (`metric`, e.g. roc_auc, the
mean over the run's test folds). The search space is written as Hydra sweep overrides:

    qhybrid train -m hydra/sweeper=optuna_cv model=g6 data=breast_cancer \
        'trainer.lr=tag(log,interval(0.0005,0.05))' 'model.quantum.n_layers=range(1,4)' \
        'model.dropout=choice(0,0.1,0.2)' hydra.sweeper.n_trials=20

interval(a,b) is a float (log-uniform when tagged log), range(a,b) an integer (b
exclusive, as in Python), choice(...) categorical; other overrides are fixed for every
trial. Why not the released hydra-optuna-sweeper: it pins optuna < 3, and its sampler
config fails to instantiate with hydra-core 1.3 here; its SQLite storage breaks with
SQLAlchemy 2. This one is written against Optuna's ask/tell API (Optuna >= 4), so
`storage: sqlite:///study.db` works and a study can be resumed by name.
"""

# no `from __future__ import annotations`: Hydra's plugin scan executes this module outside
# sys.modules, where dataclasses cannot resolve string annotations
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@dataclass
class OptunaCVSweeperConf:
    _target_: str = "hydra_plugins.qhybrid_sweeper.optuna_cv.OptunaCVSweeper"
    metric: str = "roc_auc"  # the metrics.json summary mean each trial is scored by
    direction: str = "auto"  # maximize | minimize | auto (minimize log_loss, maximize the rest)
    n_trials: int = 20
    n_jobs: int = 1  # trials launched together (the launcher may run them in parallel)
    seed: int = 0  # the TPE sampler's seed
    storage: Optional[str] = None  # e.g. sqlite:///study.db (default: in memory)
    study_name: Optional[str] = None
    params: dict[str, str] = field(default_factory=dict)  # search space in the config: key -> sweep string


ConfigStore.instance().store(group="hydra/sweeper", name="optuna_cv", node=OptunaCVSweeperConf,
                             provider="qhybrid")


def _distribution(override: Override):
    """An Optuna distribution from a Hydra sweep override."""
    import optuna.distributions as d

    value = override.value()
    if isinstance(value, IntervalSweep):
        low, high = float(value.start), float(value.end)
        return d.FloatDistribution(low, high, log="log" in value.tags)
    if isinstance(value, RangeSweep):
        step = int(value.step or 1)
        return d.IntDistribution(int(value.start), int(value.stop) - step, step=step, log="log" in value.tags)
    if isinstance(value, ChoiceSweep):
        return d.CategoricalDistribution([v for v in value.list])
    print(f"qhybrid: error: {override.input_line}: hydra/sweeper=optuna_cv cannot search this sweep. Fix: use "
          "interval(a,b), range(a,b) or choice(x,y)", file=sys.stderr)
    raise SystemExit(2)


def register() -> None:
    """Hydra finds plugins by scanning the hydra_plugins namespace, which an editable install
    hides: qhybrid's CLI registers this one itself (importing this module stored its config)."""
    Plugins.instance().register(OptunaCVSweeper)


class OptunaCVSweeper(Sweeper):
    def __init__(self, metric: str, direction: str, n_trials: int, n_jobs: int, seed: int, storage: Optional[str],
                 study_name: Optional[str], params: Optional[dict[str, str]] = None):
        self.metric, self.n_trials, self.n_jobs, self.seed = metric, n_trials, max(1, n_jobs), seed
        self.direction = direction if direction != "auto" else ("minimize" if metric == "log_loss" else "maximize")
        self.storage, self.study_name, self.params = storage, study_name, dict(params or {})

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        try:
            import optuna
        except ImportError:
            print("qhybrid: error: hydra/sweeper=optuna_cv needs Optuna, which is not installed. "
                  "Fix: pip install 'qhybrid[tune]'", file=sys.stderr)
            raise SystemExit(2) from None

        parser = OverridesParser.create()
        overrides = parser.parse_overrides([*(f"{k}={v}" for k, v in self.params.items()), *arguments])
        space = {o.get_key_element(): _distribution(o) for o in overrides if o.is_sweep_override()}
        fixed = [o.input_line for o in overrides if not o.is_sweep_override()]
        if not space:
            print("qhybrid: error: hydra/sweeper=optuna_cv has no search space. Fix: give at least one of "
                  "'key=interval(a,b)', 'key=range(a,b)', 'key=choice(x,y)'", file=sys.stderr)
            raise SystemExit(2)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction=self.direction, sampler=optuna.samplers.TPESampler(seed=self.seed),
                                    storage=self.storage, study_name=self.study_name, load_if_exists=True)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        done = 0
        while done < self.n_trials:
            trials = [study.ask(space) for _ in range(min(self.n_jobs, self.n_trials - done))]
            batch = [[*fixed, *(f"{key}={_format(value)}" for key, value in trial.params.items())] for trial in trials]
            self.validate_batch_is_legal(batch)
            returns = self.launcher.launch(batch, initial_job_idx=done)
            for trial, job in zip(trials, returns):
                value = _objective(job, self.metric)
                if value is None:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(trial, value)
            done += len(trials)
        self._write_results(study, sweep_dir)
        return None

    def _write_results(self, study, sweep_dir: Path) -> None:
        from qhybrid import io

        finished = [t for t in study.trials if t.value is not None]
        result = {"metric": self.metric, "direction": self.direction, "n_trials": len(study.trials),
                  "n_failed": len(study.trials) - len(finished)}
        if finished:
            result.update(best_value=study.best_value, best_params=study.best_params,
                          best_job=study.best_trial.number)
            log.info("best %s = %.4f with %s (job %d)", self.metric, study.best_value,
                     " ".join(f"{k}={_format(v)}" for k, v in study.best_params.items()), study.best_trial.number)
        io.write_text(sweep_dir / "optimization_results.yaml", OmegaConf.to_yaml(OmegaConf.create(result)))


def _format(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _objective(job, metric: str) -> Optional[float]:
    """The job's mean CV metric; None for a failed job (or one whose metric is undefined)."""
    try:
        summary = job.return_value
    except Exception:  # noqa: BLE001 - the launcher re-raises the job's error here: the trial failed
        return None
    value = (summary or {}).get(metric) if isinstance(summary, dict) else None
    return None if value is None or not math.isfinite(value) else float(value)
