"""trainer.threads: auto computes small circuits on one thread (a pool only adds hand-offs and
collapses under load), large ones on torch's count; an explicit count, QHYBRID_THREADS and a
parallel launcher's one per job come first; the count used is logged and in metrics.json."""

from __future__ import annotations

import json

import pytest
import torch

from helpers import fast, one_line
from qhybrid import threads


@pytest.fixture(autouse=True)
def torch_threads():
    """The runs below set the process's thread count: give the next test the one it had."""
    before = torch.get_num_threads()
    yield
    threads.fix(None)
    torch.set_num_threads(before)


def test_auto_picks_one_thread_for_small_steps_and_torch_count_for_large():
    small = threads.work_size(32, 4, 16)  # 4 qubits, batch 32: 512 amplitudes
    large = threads.work_size(64, 14, 16)  # 14 qubits, batch 64: a million
    assert threads.choose("auto", small, quantum=True)[0] == 1
    assert 1 <= threads.choose("auto", large, quantum=True)[0] <= threads._torch_default
    assert threads.choose(3, small, quantum=True) == (3, "trainer.threads")


def test_auto_leaves_the_cores_other_processes_keep_busy(monkeypatch):
    large = threads.work_size(64, 14, 16)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (6.2, 6.0, 6.0))
    monkeypatch.setattr(threads, "_torch_default", 8)
    count, why = threads.choose("auto", large, quantum=True)
    assert count == 2 and "6 of 8 cores busy" in why
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert threads.choose("auto", large, quantum=True)[0] == 8


def test_a_large_run_after_a_small_one_gets_torch_count_back(monkeypatch):
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads, "_torch_default", 2)  # the process started with two threads
    threads.use("auto", threads.work_size(32, 4, 16), quantum=True)  # sets one thread
    assert torch.get_num_threads() == 1
    assert threads.choose("auto", threads.work_size(64, 14, 16), quantum=True)[0] == 2


def test_a_count_fixed_before_the_config_comes_first_unless_trainer_threads_is_explicit():
    threads.fix(2, "QHYBRID_THREADS=2")
    assert threads.choose("auto", 10, quantum=True) == (2, "QHYBRID_THREADS=2")
    assert threads.choose(1, 10, quantum=True)[0] == 1


def test_a_run_logs_and_records_its_threads(cli, tmp_path):
    run = tmp_path / "run"
    result = cli(["train", "model=g6", "data=iris", f"hydra.run.dir={run}", *fast()])
    assert result.returncode == 0, result.stderr
    assert "threads: 1 (trainer.threads=auto:" in result.stdout
    assert json.loads((run / "metrics.json").read_text())["timing"]["threads"] == 1
    explicit = cli(["train", "model=g6", "data=iris", "trainer.threads=2", f"hydra.run.dir={tmp_path / 'two'}",
                    *fast()])
    assert explicit.returncode == 0, explicit.stderr
    assert json.loads((tmp_path / "two" / "metrics.json").read_text())["timing"]["threads"] == 2


@pytest.mark.parametrize("value", ["0", "four", "true", "1.5"])
def test_a_thread_count_that_is_not_one_is_one_line(cli, value):
    one_line(cli(["train", "model=g6", "data=iris", f"trainer.threads={value}", *fast()]), "trainer.threads=",
             "auto")
