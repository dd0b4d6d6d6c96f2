"""Every backend that exists on this machine trains; fallback and refusals end to end."""

from __future__ import annotations

import json

import pytest
from sklearn.datasets import load_iris

from qhybrid.run import train

from conftest import run_cli


@pytest.mark.parametrize("backend,used,diff_method", [("auto", "torch", "backprop"), ("torch", "torch", "backprop"),
                                                     ("default_qubit", "default_qubit", "backprop"),
                                                     ("lightning_qubit", "lightning_qubit", "adjoint")])
def test_backend_trains_one_epoch_on_iris(backend, used, diff_method, tmp_path, compose):
    cfg = compose(["model=g6", f"backend={backend}", "data=iris", "cv=holdout", "trainer.max_epochs=1"])
    metrics = train(cfg, tmp_path / "run")
    assert metrics["backend"]["name"] == used and metrics["backend"]["diff_method"] == diff_method
    assert metrics["backend"]["requested"] == backend
    assert metrics["folds"][0]["epochs_run"] == 1 and metrics["summary"]["accuracy"]["mean"] is not None
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["quantum_backend"]["device"] == metrics["backend"]["device"]


def test_qiskit_aer_trains_on_a_tiny_subset(tmp_path, compose):
    bunch = load_iris(as_frame=True)
    frame = bunch.frame.groupby("target").head(4).rename(columns=lambda c: c.split(" (")[0].replace(" ", "_"))
    frame.to_csv(tmp_path / "tiny.csv", index=False)
    cfg = compose(["model=g1", "backend=qiskit_aer", "data=csv", f"data.path={tmp_path / 'tiny.csv'}",
                   "data.target=target", "cv=holdout", "cv.test_fraction=0.25", "trainer.max_epochs=1",
                   "trainer.val_fraction=0.25"])
    metrics = train(cfg, tmp_path / "run")
    assert metrics["backend"]["device"] == "qiskit.aer" and metrics["backend"]["diff_method"] == "parameter-shift"
    assert metrics["backend"]["plugin"].lower() == "pennylane-qiskit"
    assert metrics["folds"][0]["n_test"] == 3


def test_lightning_gpu_without_a_gpu_falls_back_and_says_so_once(tmp_path):
    run = tmp_path / "run"
    result = run_cli(["train", "model=g6", "backend=lightning_gpu", "data=iris", "cv=holdout", "trainer.max_epochs=1",
                      f"hydra.run.dir={run}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [ln for ln in result.stdout.splitlines() if "WARNING" in ln and "backend" in ln]
    assert len(warnings) == 1 and "backend lightning_gpu is not available here" in warnings[0]
    assert "using lightning_qubit" in warnings[0]
    backend = json.loads((run / "metrics.json").read_text())["backend"]
    assert backend["requested"] == "lightning_gpu" and backend["name"] == "lightning_qubit"
    assert backend["diff_method"] == "adjoint" and backend["dtype"] == "float64"
    assert json.loads((run / "environment.json").read_text())["quantum_backend"]["name"] == "lightning_qubit"


@pytest.mark.parametrize("overrides,message", [
    (["backend=lightning_qubit", "backend.diff_method=backprop"], "diff_method=backprop is not supported by lightning.qubit"),
    (["backend=qiskit_aer", "backend.diff_method=adjoint"], "diff_method=adjoint is not supported by qiskit.aer"),
    (["backend=default_qubit", "backend.shots=100", "backend.diff_method=adjoint"], "needs exact simulation"),
    (["backend=lightning_gpu", "backend.strict=true"], "backend lightning_gpu (lightning.gpu) cannot start"),
    (["backend=pennylane"], "backend=pennylane needs the device's name"),
    (["backend=pennylane", "backend.device=no.such.device"], "no backend could start"),
    (["backend=torch", "backend.shots=100"], "computes exact expectation values"),
    (["backend=auto", "backend.diff_method=adjoint"], "differentiates by autograd"),
    (["backend=torch", "backend.strategy=magic"], "backend.strategy='magic'"),
])
def test_refused_backend_settings_are_one_line(overrides, message, tmp_path):
    result = run_cli(["train", "model=g6", *overrides, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "environment.json").exists()


def test_backends_command_lists_what_works(tmp_path):
    result = run_cli(["backends"], cwd=tmp_path, env={"COLUMNS": "250"})
    assert result.returncode == 0
    rows = {ln.split("│")[1].strip(): ln for ln in result.stdout.splitlines() if ln.startswith("│")}
    assert "│ yes" in rows["torch"] and "qhybrid.native" in rows["torch"]
    assert "│ yes" in rows["default_qubit"] and "backprop" in rows["default_qubit"]
    assert "│ yes" in rows["lightning_qubit"] and "adjoint" in rows["lightning_qubit"]
    assert "│ no" in rows["lightning_gpu"] and "qhybrid[gpu]" in rows["lightning_gpu"]
