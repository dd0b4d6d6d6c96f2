"""Fixtures for every test (conftest.py imports them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.cli import run_in_process
from helpers.data import broken_data_conf as _broken_data_conf
from helpers.data import iris_frame, write_csv


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
def cli(tmp_path):
    """cli(args, cwd=tmp_path, env=None) -> CliResult of `qhybrid <args>` run in this process."""

    def run(args: list[str], cwd: Path | None = None, env: dict | None = None):
        return run_in_process(args, cwd=tmp_path if cwd is None else cwd, env=env)

    return run


@pytest.fixture
def iris_csv(tmp_path: Path) -> Path:
    """Iris as a user's CSV file with a string label column."""
    return write_csv(tmp_path / "iris.csv", iris_frame())


@pytest.fixture
def broken_data_conf(tmp_path: Path) -> Path:
    """A config folder (--config-dir) with data=broken: a CSV whose labels are all one class."""
    return _broken_data_conf(tmp_path)
