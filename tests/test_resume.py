"""Interrupted runs: SIGKILL during the third fold then resume (two folds kept, the third
continued from its last epoch) gives the uninterrupted metrics; SIGTERM stops cleanly and
prints the resume command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import qhybrid_executable, run_cli

# slow enough per fold (no early stopping) to be stopped within a fold; the epoch state saved every epoch
RUN = ["train", "model=g0", "data=breast_cancer", "trainer.early_stopping.enabled=false", "trainer.max_epochs=80",
       "baselines=[logreg]", "trainer.epoch_checkpoint_seconds=0"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "QHYBRID_DEBUG")}
    return subprocess.Popen([qhybrid_executable(), *args], cwd=cwd, env={**env, "PYTHONWARNINGS": "ignore"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _comparable(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    folds = [{k: v for k, v in f.items() if k != "train_seconds"} for f in metrics["folds"]]
    return {"summary": metrics["summary"], "folds": folds,
            "baselines": {n: b["summary"] for n, b in metrics["baselines"].items()}}


def test_a_run_killed_after_two_folds_resumes_to_the_uninterrupted_metrics(tmp_path):
    killed = tmp_path / "killed"
    process = _start([*RUN, f"hydra.run.dir={killed}"], tmp_path)
    _wait_for(killed / "folds" / "fold_1.json", process)
    _wait_for(killed / "folds" / "fold_2.epoch.pt", process)  # the third fold has finished an epoch
    process.send_signal(signal.SIGKILL)
    process.communicate()
    finished = sorted(p.name for p in (killed / "folds").glob("fold_*.json"))
    assert finished == ["fold_0.json", "fold_1.json"] and not (killed / "metrics.json").exists()
    # every file is whole (a kill mid-write can leave only the writer's temp file beside it)
    assert all(json.loads(p.read_text())["row"] for p in (killed / "folds").glob("fold_*.json"))
    assert len(pd.read_csv(killed / "folds.csv")) == 2

    resumed = run_cli([*RUN, f"resume={killed}"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.count("kept, not trained again") == 2
    assert "fold 3/5: continues after epoch" in resumed.stdout
    assert not list((killed / "folds").glob("*.epoch.pt"))  # finished folds drop their epoch state
    assert not list(killed.rglob(".*.tmp"))  # a temp file the kill left behind is cleared on resume
    whole = tmp_path / "whole"
    result = run_cli([*RUN, f"hydra.run.dir={whole}"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _comparable(killed) == _comparable(whole)
    assert (killed / "predictions.csv").read_text() == (whole / "predictions.csv").read_text()


def test_sigterm_mid_fold_leaves_a_consistent_folder_and_the_resume_command(tmp_path):
    run = tmp_path / "run"
    process = _start([*RUN, f"hydra.run.dir={run}"], tmp_path)
    _wait_for(run / "folds.csv", process)  # written after fold 0's record: the run is in fold 1 or later
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert not list(run.rglob(".*.tmp"))
    assert len(pd.read_csv(run / "folds.csv")) >= 1  # whole, readable
    command = stderr.strip().splitlines()[-1].split("continue with: ", 1)[1]
    assert command.startswith("qhybrid train ") and command.endswith(f"resume={run}")
    resumed = run_cli(command.split()[1:], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(json.loads((run / "metrics.json").read_text())["folds"]) == 5


@pytest.mark.parametrize("args, message", [
    (["model=g0", "trainer.lr=0.5"], "the run was started with trainer.lr=0.01, this command has trainer.lr=0.5"),
])
def test_resume_with_other_settings_or_no_run_is_one_line(tmp_path, args, message):
    run = tmp_path / "run"
    assert run_cli(["train", "model=g0", "data=iris", "trainer.max_epochs=2", "baselines=[]",
                    f"hydra.run.dir={run}"], cwd=tmp_path).returncode == 0
    other = run_cli(["train", *args, "data=iris", "trainer.max_epochs=2", "baselines=[]", f"resume={run}"],
                    cwd=tmp_path)
    assert other.returncode == 2 and message in other.stderr and len(other.stderr.strip().splitlines()) == 1
    nowhere = run_cli(["train", f"resume={tmp_path / 'nothing'}"], cwd=tmp_path)
    assert nowhere.returncode == 2 and "no such folder" in nowhere.stderr and not (tmp_path / "nothing").exists()


def test_resume_clears_the_temp_files_of_writers_that_are_gone(tmp_path):
    from qhybrid.training.resume import remove_stale_temp_files

    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is no longer a live process
    stale = tmp_path / "folds" / f".fold_2.epoch.pt.{dead.pid}.tmp"
    live = tmp_path / f".folds.csv.{os.getpid()}.tmp"  # a writer that is still running
    stale.parent.mkdir()
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    remove_stale_temp_files(tmp_path)
    assert not stale.exists() and live.exists()
