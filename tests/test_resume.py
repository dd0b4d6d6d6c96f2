"""Interrupted runs: SIGKILL during the third fold then resume (two folds kept, the third
continued from its last epoch) gives the uninterrupted metrics; SIGTERM stops cleanly and
prints the resume command.

The kills and the resumes run the installed command in their own processes (signals and a
process that dies mid-run are the point); the refusals run in this process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import FAST, qhybrid_executable, run_cli
from helpers.scheduling import HEAVY
from helpers.cli import subprocess_env

# Three folds, each long enough (80 epochs, no early stopping: about a second and a half, more
# on a loaded machine) to be stopped within it; the epoch state saved every epoch. The logreg
# baseline is kept: a resumed run must report the baselines of the folds it kept as well.
RUN = ["train", "model=g0", "data=breast_cancer", "trainer.early_stopping.enabled=false", "trainer.max_epochs=80",
       "cv.n_splits=3", "baselines=[logreg]", "trainer.epoch_checkpoint_seconds=0"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([qhybrid_executable(), *args], cwd=cwd, env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 900) -> None:
    """Until ``path`` exists; fails when the process ends first. The time limit only keeps a
    hung run from hanging CI: a loaded machine makes the file later, never not at all."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.fixture
def started():
    """start(args, cwd) -> a running qhybrid; whatever is still running at the end is killed."""
    processes = []

    def start(args: list[str], cwd: Path) -> subprocess.Popen:
        processes.append(_start(args, cwd))
        return processes[-1]

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _comparable(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    folds = [{k: v for k, v in f.items() if k != "train_seconds"} for f in metrics["folds"]]
    return {"summary": metrics["summary"], "folds": folds,
            "baselines": {n: b["summary"] for n, b in metrics["baselines"].items()}}


@HEAVY
def test_a_run_killed_after_two_folds_resumes_to_the_uninterrupted_metrics(tmp_path, started, cli):
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    process = started([*RUN, f"hydra.run.dir={killed}"], tmp_path)
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
    assert "fold 2 (3 of 3): continues after epoch" in resumed.stdout
    assert not list((killed / "folds").glob("*.epoch.pt"))  # finished folds drop their epoch state
    assert not list(killed.rglob(".*.tmp"))  # a temp file the kill left behind is cleared on resume
    # the uninterrupted run to compare with (in this process: a third process would only add its start-up)
    uninterrupted = cli([*RUN, f"hydra.run.dir={whole}"])
    assert uninterrupted.returncode == 0, uninterrupted.stdout + uninterrupted.stderr
    assert _comparable(killed) == _comparable(whole)
    assert (killed / "predictions.csv").read_text() == (whole / "predictions.csv").read_text()


@HEAVY
def test_sigterm_mid_fold_leaves_a_consistent_folder_and_the_resume_command(tmp_path, started, cli):
    run = tmp_path / "run"
    process = started([*RUN, f"hydra.run.dir={run}"], tmp_path)
    _wait_for(run / "folds.csv", process)  # written after fold 0's record: the run is in fold 1 or later
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate()
    assert process.returncode == 130
    assert not list(run.rglob(".*.tmp"))
    assert len(pd.read_csv(run / "folds.csv")) >= 1  # whole, readable
    command = stderr.strip().splitlines()[-1].split("continue with: ", 1)[1]
    assert command.startswith("qhybrid train ") and command.endswith(f"resume={run}")
    resumed = cli(command.split()[1:])  # the printed command works (here in this process)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(json.loads((run / "metrics.json").read_text())["folds"]) == 3


@pytest.mark.parametrize("args, message", [
    (["model=g0", "trainer.lr=0.5"], "the run was started with trainer.lr=0.01, this command has trainer.lr=0.5"),
])
def test_resume_with_other_settings_or_no_run_is_one_line(cli, tmp_path, args, message):
    run = tmp_path / "run"
    assert cli(["train", "model=g0", "data=iris", *FAST, f"hydra.run.dir={run}"]).returncode == 0
    other = cli(["train", *args, "data=iris", *FAST, f"resume={run}"])
    assert other.returncode == 2 and message in other.stderr and len(other.stderr.strip().splitlines()) == 1
    nowhere = cli(["train", f"resume={tmp_path / 'nothing'}"])
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
