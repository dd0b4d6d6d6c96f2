"""hydra/sweeper=optuna_cv: Optuna's TPE over qhybrid runs, scored by the mean CV metric."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from helpers import fast
from helpers.scheduling import HEAVY

# the search space's choice([4],[8]) makes Optuna warn that lists do not store well; it is the test's
pytestmark = pytest.mark.filterwarnings("ignore:Choices for a categorical distribution:UserWarning")

SEARCH = ["-m", "hydra/sweeper=optuna_cv", "model=g0", "data=iris_binary", *fast("trainer.max_epochs=3"),
          "trainer.lr=tag(log,interval(0.001,0.1))", "model.hidden_dims=choice([4],[8])"]


def test_the_search_scores_each_trial_by_its_runs_mean_cv_metric(tmp_path, cli):
    sweep = tmp_path / "sweep"
    result = cli(["train", *SEARCH, "hydra.sweeper.n_trials=3", "hydra.sweeper.metric=accuracy",
                  f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 0, result.stdout + result.stderr
    values = {}
    for job in ("0", "1", "2"):
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        values[int(job)] = metrics["summary"]["accuracy"]["mean"]
        lr = [o for o in OmegaConf.load(sweep / job / ".hydra" / "overrides.yaml") if o.startswith("trainer.lr=")]
        assert 0.001 <= float(lr[0].split("=")[1]) <= 0.1  # sampled inside the interval
    results = OmegaConf.load(sweep / "optimization_results.yaml")
    assert results.n_trials == 3 and results.n_failed == 0 and results.direction == "maximize"
    assert results.best_value == max(values.values()) and values[results.best_job] == results.best_value


@HEAVY
def test_a_sqlite_study_resumes_by_name(tmp_path, cli):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    for run in ("a", "b"):
        result = cli(["train", *SEARCH, "hydra.sweeper.n_trials=2", f"hydra.sweeper.storage={storage}",
                      "hydra.sweeper.study_name=lr", f"hydra.sweep.dir={tmp_path / run}"])
        assert result.returncode == 0, result.stdout + result.stderr
    assert OmegaConf.load(tmp_path / "b" / "optimization_results.yaml").n_trials == 4  # 2 + 2 in one study


def test_no_search_space_is_one_line(tmp_path, cli):
    result = cli(["train", "-m", "hydra/sweeper=optuna_cv", "model=g0", f"hydra.sweep.dir={tmp_path / 's'}"])
    assert result.returncode == 2 and "has no search space" in result.stderr
    assert "Traceback" not in result.stderr
