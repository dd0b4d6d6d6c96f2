"""Multirun sweeps through Hydra's launchers.

The sweep command runs in this process; the launchers start their jobs in processes of their
own (joblib's workers, submitit's jobs), which is what these tests are about."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import FAST, fast
from helpers.scheduling import HEAVY


@HEAVY
def test_a_four_job_joblib_sweep_completes_with_one_run_folder_per_job(tmp_path, cli):
    sweep = tmp_path / "sweep"
    result = cli(["train", "-m", "model=g0,g1", "data=iris_binary,iris", "hydra/launcher=joblib",
                  "hydra.launcher.n_jobs=2", *fast("baselines=[logreg]"), f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    seen = set()
    for job in jobs:
        metrics = json.loads((job / "metrics.json").read_text())
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        assert "hydra/launcher" not in overrides  # the job's own overrides only
        seen.add((metrics["model"]["name"], len(metrics["classes"])))
        assert metrics["baselines"]["logreg"]["summary"]["accuracy"]["mean"] is not None
    assert seen == {("g0", 2), ("g0", 3), ("g1", 2), ("g1", 3)}
    report = cli(["report", str(sweep)])
    assert report.returncode == 0, report.stdout + report.stderr
    table = pd.read_csv(sweep / "report.csv")
    assert len(table) == 4 * 2 and table["baseline"].sum() == 4  # each run and its logreg baseline


# slow (CI runs it: .ci/run): submitit starts each job as a new interpreter, which pays ~8 s of
# imports (torch, scikit-learn, ...) before it trains: about 25 s of the 2 cores per launcher
@pytest.mark.slow
@HEAVY
@pytest.mark.parametrize("launcher", ["slurm_local", "submitit_local"])
def test_a_two_job_submitit_sweep_runs_the_slurm_code_path_here(tmp_path, launcher, cli):
    sweep = tmp_path / "sweep"
    result = cli(["train", "-m", "model=g0", "data=iris_binary,iris", f"hydra/launcher={launcher}", *FAST,
                  f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert (sweep / ".submitit").is_dir()  # submitted through submitit, not run in this process
    assert all((sweep / job / "metrics.json").is_file() for job in ("0", "1"))
    report = cli(["report", str(sweep)])
    assert report.returncode == 0, report.stdout + report.stderr
    table = pd.read_csv(sweep / "report.csv")
    assert sorted(table["data"]) == ["iris", "iris_binary"] and not table["error"].notna().any()


@HEAVY
def test_a_failing_job_of_a_parallel_sweep_sets_the_exit_code_and_the_others_finish(tmp_path, broken_data_conf, cli):
    sweep = tmp_path / "sweep"
    result = cli(["train", "--config-dir", str(broken_data_conf), "-m", "model=g0", "data=iris_binary,broken,iris",
                  "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *FAST, f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 1
    assert "1 job(s) failed: 1: data.path: " in result.stderr and "single class" in result.stderr
    assert (sweep / "0" / "metrics.json").is_file() and (sweep / "2" / "metrics.json").is_file()


def test_the_slurm_launcher_composes_with_qhybrids_defaults(compose):
    cfg = compose(["hydra/launcher=slurm", "hydra.launcher.partition=gpu"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "gpu"
    assert launcher.array_parallelism == 32 and launcher.cpus_per_task == 4 and launcher.timeout_min == 120


def test_a_launcher_whose_plugin_is_missing_is_one_line(monkeypatch):
    import importlib.util

    from qhybrid import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if "submitit" in name else real(name, *a))
    message = cli._missing_launcher(["-m", "hydra/launcher=slurm", "seed=0,1"]).message
    assert message.startswith("hydra/launcher=slurm needs the hydra-submitit-launcher plugin")
    assert "pip install 'qhybrid[cluster]'" in message and "\n" not in message
    assert cli._missing_launcher(["hydra/launcher=joblib"]) is None  # installed
