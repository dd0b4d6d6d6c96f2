"""The command dispatcher, Hydra's own flags through it, and shell completion."""

from __future__ import annotations

import subprocess
import sys

from helpers import run_cli


def test_help_lists_commands_without_importing_torch():
    code = ("import sys; from qhybrid.cli import main; rc = main(['--help']); "
            "assert rc == 0; assert 'torch' not in sys.modules and 'pennylane' not in sys.modules, 'heavy import'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "usage: qhybrid <command>" in result.stdout


def test_console_script_exit_keeps_the_code_the_output_and_the_exit_handlers(tmp_path):
    """``run`` (the console script) skips the interpreter's teardown, not what a normal exit
    does before it: the exit code, a handler registered with atexit, unflushed output."""
    code = ("import atexit, sys; from qhybrid import cli; atexit.register(lambda: print('handler ran')); "
            "sys.argv = ['qhybrid', 'fly']; cli.run()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "unknown command 'fly'" in result.stderr
    assert result.stdout == "handler ran\n"


def test_console_script_help(tmp_path):
    result = run_cli(["--help"], cwd=tmp_path)
    assert result.returncode == 0 and "commands:" in result.stdout


def test_unknown_command(tmp_path):
    result = run_cli(["fly"], cwd=tmp_path)
    assert result.returncode == 2 and "unknown command 'fly'" in result.stderr


def test_train_help_shows_config_groups(tmp_path):
    result = run_cli(["train", "--help"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cv: holdout, kfold, stratified_kfold" in result.stdout

    def options(group: str) -> set[str]:
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(f"{group}: "))
        return set(line.split(": ", 1)[1].split(", "))

    assert {"breast_cancer", "csv", "diabetes", "iris", "hidden_manifold", "bars_and_stripes"} <= options("data")
    assert {"finance", "genomics", "medical", "qml_benchmarks"} <= options("experiment")
    assert {"g0", "g10", "data_reuploading", "iqp_variational_separable"} <= options("model")
    assert not (tmp_path / "outputs").exists()


def test_cfg_job_prints_the_composed_config(tmp_path):
    result = run_cli(["train", "--cfg", "job", "data=breast_cancer", "trainer.lr=0.003"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "name: breast_cancer" in result.stdout and "lr: 0.003" in result.stdout
    assert not (tmp_path / "outputs").exists()


def _complete(line: str, tmp_path) -> list[str]:
    result = run_cli(["-sc", "query=bash"], cwd=tmp_path, env={"COMP_LINE": line, "COMP_POINT": str(len(line))})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_completion_of_the_command_word(tmp_path):
    assert _complete("qhybrid tr", tmp_path) == ["train"]
    assert "train" in _complete("qhybrid ", tmp_path)


def test_completion_of_overrides_after_the_command(tmp_path):
    assert set(_complete("qhybrid train data=", tmp_path)) >= {"data=iris", "data=breast_cancer", "data=csv"}
    assert "trainer.max_epochs=" in _complete("qhybrid train trainer.max", tmp_path)


def test_completion_install_script(tmp_path):
    result = run_cli(["-sc", "install=bash"], cwd=tmp_path)
    assert result.returncode == 0 and "complete -o nospace -o default -F hydra_bash_completion qhybrid" in result.stdout
