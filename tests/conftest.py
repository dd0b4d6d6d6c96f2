"""Shared helpers: run the installed CLI in a subprocess, compose configs in-process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every run (reproducible); local runs draw new ones
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"


def qhybrid_executable() -> str:
    beside = Path(sys.executable).with_name("qhybrid")
    found = str(beside) if beside.exists() else shutil.which("qhybrid")
    if not found:
        pytest.fail("the qhybrid console script is not installed: run `make test` (it installs the package)")
    return found


def run_cli(args: list[str], cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    for key in ("HYDRA_FULL_ERROR", "QHYBRID_DEBUG"):
        full_env.pop(key, None)
    return subprocess.run([qhybrid_executable(), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


# small, fast training settings for tests
FAST = ["trainer.max_epochs=3", "trainer.early_stopping.patience=2"]


@pytest.fixture
def compose():
    """compose(overrides) -> the config `qhybrid train <overrides>` would run with."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from qhybrid import resolvers

    resolvers.register()

    def _compose(overrides: list[str] | None = None, return_hydra_config: bool = False):
        with initialize_config_module(config_module="qhybrid.conf", version_base="1.3"):
            return hydra_compose("config", overrides=overrides or [], return_hydra_config=return_hydra_config)

    return _compose


@pytest.fixture
def iris_csv(tmp_path: Path) -> Path:
    """Iris as a user's CSV file with a string label column."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = bunch.target_names[bunch.target]
    frame = frame.drop(columns="target")
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def broken_data_conf(tmp_path: Path) -> Path:
    """A config folder (--config-dir) with data=broken: a CSV whose labels are all one class.
    Its config is valid, so a sweep starts; the job fails when it reads the file."""
    rows = tmp_path / "one_class.csv"
    rows.write_text("a,b,label\n" + "".join(f"{i},{i % 3},same\n" for i in range(20)))
    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "conf" / "data" / "broken.yaml").write_text(
        f"defaults:\n  - csv\n  - _self_\npath: {rows}\ntarget: label\n")
    return tmp_path / "conf"
