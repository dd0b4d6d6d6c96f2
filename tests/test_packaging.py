"""The config tree ships inside the package: a regular (non-editable) wheel works."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from helpers import CONF, REPO


def test_wheel_contains_the_configs_and_runs_from_them(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(REPO)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("qhybrid-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for yaml in CONF.rglob("*.yaml"):
        if "local" not in yaml.relative_to(CONF).parts:
            assert f"qhybrid/conf/{yaml.relative_to(CONF).as_posix()}" in names
    assert "qhybrid/conf/__init__.py" in names
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    # run from an unrelated folder with the wheel's copy first on the path
    code = ("import qhybrid, sys; from qhybrid.cli import main; "
            f"assert qhybrid.__file__.startswith({str(target)!r}), qhybrid.__file__; "
            "sys.exit(main(['train', '--cfg', 'job', 'data=breast_cancer']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "name: breast_cancer" in result.stdout and "name: g10" in result.stdout


def test_every_config_folder_is_a_listed_package():
    """setuptools prints a boxed "Package would be ignored" warning per folder of the config
    tree it is not told about (twelve of them on every install, before they were listed)."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"qhybrid.conf." + ".".join(d.relative_to(CONF).parts) for d in CONF.rglob("*")
               if d.is_dir() and d.name != "__pycache__"}
    assert folders and folders <= listed, sorted(folders - listed)


def test_the_core_install_leaves_the_extras_out_and_every_extra_a_message_names_exists():
    import re
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for extra in ("qiskit", "yfinance", "mlflow", "optuna", "submitit", "joblib", "wandb", "tensorboard", "jax"):
        assert extra not in core, extra
    texts = [p.read_text() for p in (REPO / "qhybrid").rglob("*.py")] + [(REPO / "README.md").read_text()]
    named = {name for text in texts for group in re.findall(r"qhybrid\[([\w,]+)\]", text) for name in group.split(",")}
    assert named and named <= set(project["optional-dependencies"]), named - set(project["optional-dependencies"])


def test_a_missing_extra_is_one_line_with_its_pip_command(cli, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "qiskit" else real(name, *a))
    result = cli(["circuit", "model=g6", "target=fake_manila"])
    assert result.returncode != 0 and "pip install 'qhybrid[qiskit]'" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
