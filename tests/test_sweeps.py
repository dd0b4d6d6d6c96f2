"""Multirun sweeps through Hydra's launchers."""

from __future__ import annotations

import json

import pandas as pd
from conftest import run_cli


def test_a_four_job_joblib_sweep_completes_with_one_run_folder_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(["train", "-m", "model=g0,g1", "data=iris_binary,iris", "hydra/launcher=joblib",
                      "hydra.launcher.n_jobs=2", "trainer.max_epochs=2", "baselines=[logreg]",
                      f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
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
    report = run_cli(["report", str(sweep)], cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    table = pd.read_csv(sweep / "report.csv")
    assert len(table) == 4 * 2 and table["baseline"].sum() == 4  # each run and its logreg baseline
