"""Every backend that exists on this machine trains; fallback and refusals end to end."""

from __future__ import annotations

import json

import pytest
from sklearn.datasets import load_iris

from helpers import TINY_CIRCUIT, fast, lightning_gpu_starts, one_line, run_cli
from helpers.scheduling import HEAVY
from qhybrid.run import train

# one epoch on a holdout split, no baselines or INT8 export: the backend is the point
ONE_EPOCH = fast("trainer.max_epochs=1", keep=["cv.n_splits"])


@pytest.mark.parametrize("backend,used,diff_method", [("auto", "torch", "backprop"), ("torch", "torch", "backprop"),
                                                     ("default_qubit", "default_qubit", "backprop"),
                                                     ("lightning_qubit", "lightning_qubit", "adjoint")])
def test_backend_trains_one_epoch_on_iris(backend, used, diff_method, tmp_path, compose):
    cfg = compose(["model=g6", f"backend={backend}", "data=iris", "cv=holdout", *ONE_EPOCH, *TINY_CIRCUIT])
    metrics = train(cfg, tmp_path / "run")
    assert metrics["backend"]["name"] == used and metrics["backend"]["diff_method"] == diff_method
    assert metrics["backend"]["requested"] == backend
    assert metrics["folds"][0]["epochs_run"] == 1 and metrics["summary"]["accuracy"]["mean"] is not None
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["quantum_backend"]["device"] == metrics["backend"]["device"]


@pytest.mark.parametrize("overrides, recorded", [
    (["backend.shots=50"], {"shots": 50, "seed": 0, "noise": None, "diff_method": "parameter-shift"}),
    (["backend.noise.depolarizing=0.01", "backend.noise.readout=0.02"],
     {"shots": None, "seed": None, "noise": {"depolarizing": 0.01, "readout": 0.02}, "diff_method": "backprop"}),
], ids=["shots", "noise"])
def test_the_native_executor_trains_under_shots_or_noise_and_records_them(overrides, recorded, tmp_path, compose):
    cfg = compose(["model=g6", "backend=torch", "data=iris_binary", "cv=holdout", "seed=0", *overrides, *ONE_EPOCH,
                   *TINY_CIRCUIT])
    metrics = train(cfg, tmp_path / "run")
    assert {key: metrics["backend"][key] for key in recorded} == recorded
    assert metrics["folds"][0]["epochs_run"] == 1 and metrics["summary"]["accuracy"]["mean"] is not None


@HEAVY
def test_qiskit_aer_trains_on_a_tiny_subset(tmp_path, compose):
    bunch = load_iris(as_frame=True)
    frame = bunch.frame.groupby("target").head(4).rename(columns=lambda c: c.split(" (")[0].replace(" ", "_"))
    frame.to_csv(tmp_path / "tiny.csv", index=False)
    cfg = compose(["model=g1", "backend=qiskit_aer", "data=csv", f"data.path={tmp_path / 'tiny.csv'}",
                   "data.target=target", "cv=holdout", "cv.test_fraction=0.25", *ONE_EPOCH,
                   "trainer.val_fraction=0.25", *TINY_CIRCUIT])
    metrics = train(cfg, tmp_path / "run")
    assert metrics["backend"]["device"] == "qiskit.aer" and metrics["backend"]["diff_method"] == "parameter-shift"
    assert metrics["backend"]["plugin"].lower() == "pennylane-qiskit"
    assert metrics["folds"][0]["n_test"] == 3


def test_lightning_gpu_without_a_gpu_falls_back_and_says_so_once(tmp_path, cli):
    """Where lightning.gpu cannot start, one warning and the native executor (exact, the fastest
    path here); where it can, it is used."""
    run = tmp_path / "run"
    result = cli(["train", "model=g6", "backend=lightning_gpu", "data=iris", "cv=holdout", *ONE_EPOCH, *TINY_CIRCUIT,
                  f"hydra.run.dir={run}"])
    assert result.returncode == 0, result.stderr
    warnings = [ln for ln in result.stdout.splitlines() if "WARNING" in ln and "backend" in ln]
    backend = json.loads((run / "metrics.json").read_text())["backend"]
    assert backend["requested"] == "lightning_gpu" and backend["dtype"] == "float64"
    used = json.loads((run / "environment.json").read_text())["quantum_backend"]["name"]
    if lightning_gpu_starts():
        assert warnings == [] and backend["name"] == used == "lightning_gpu" and backend["diff_method"] == "adjoint"
        return
    assert len(warnings) == 1 and "backend lightning_gpu is not available here" in warnings[0]
    assert "using qhybrid's native executor" in warnings[0]
    assert backend["name"] == used == "torch" and backend["device"] == "qhybrid.native"
    assert "lightning.gpu" in backend["fallback_reason"]


REFUSED = [
    (["backend=lightning_qubit", "backend.diff_method=backprop"],
     "diff_method=backprop is not supported by lightning.qubit"),
    (["backend=qiskit_aer", "backend.diff_method=adjoint"], "diff_method=adjoint is not supported by qiskit.aer"),
    (["backend=default_qubit", "backend.shots=100", "backend.diff_method=adjoint"], "needs exact simulation"),
    (["backend=pennylane"], "backend=pennylane needs the device's name"),
    (["backend=pennylane", "backend.device=no.such.device"], "no backend could start"),
    (["backend=torch", "backend.shots=100", "model.quantum.observables=[X0]"], "X0 is not diagonal"),
    (["backend=auto", "backend.diff_method=adjoint"], "differentiates by autograd"),
    (["backend=torch", "backend.strategy=magic"], "backend.strategy='magic'"),
    (["backend=torch", "backend.noise.readout=2"], "backend.noise.readout=2 is not a probability"),
]


def _refused(result, run) -> None:
    assert result.returncode == 2, result.stderr
    assert not (run / "environment.json").exists()


@pytest.mark.parametrize("overrides,message", REFUSED, ids=[" ".join(o) for o, _ in REFUSED])
def test_refused_backend_settings_are_one_line(overrides, message, tmp_path, cli):
    run = tmp_path / "run"
    result = cli(["train", "model=g6", *overrides, f"hydra.run.dir={run}"])
    one_line(result, message)
    _refused(result, run)


def test_a_refused_backend_is_one_line_from_the_installed_command(tmp_path):
    """A refusal through the console script: exit code 2, one line, no traceback (one refused
    before any device starts: the process only pays for its start-up)."""
    overrides, message = next((o, m) for o, m in REFUSED if "backend.noise.readout=2" in o)
    run = tmp_path / "run"
    result = run_cli(["train", "model=g6", *overrides, f"hydra.run.dir={run}"], cwd=tmp_path)
    one_line(result, message)
    _refused(result, run)


def test_strict_lightning_gpu_is_one_line_where_it_cannot_start(tmp_path, cli):
    run = tmp_path / "run"
    args = ["train", "model=g6", "backend=lightning_gpu", "backend.strict=true", f"hydra.run.dir={run}"]
    if lightning_gpu_starts():  # it starts: strict has nothing to refuse, and the run uses it
        result = cli([*args, "data=iris", "cv=holdout", *ONE_EPOCH, *TINY_CIRCUIT])
        assert result.returncode == 0, result.stderr
        assert json.loads((run / "metrics.json").read_text())["backend"]["name"] == "lightning_gpu"
        return
    result = cli(args)
    one_line(result, "backend lightning_gpu (lightning.gpu) cannot start")
    _refused(result, run)


def test_backends_command_lists_what_works(cli):
    result = cli(["backends"], env={"COLUMNS": "250"})
    assert result.returncode == 0, result.stderr
    rows = {ln.split("│")[1].strip(): ln for ln in result.stdout.splitlines() if ln.startswith("│")}
    assert "│ yes" in rows["torch"] and "qhybrid.native" in rows["torch"]
    assert "│ yes" in rows["default_qubit"] and "backprop" in rows["default_qubit"]
    assert "│ yes" in rows["lightning_qubit"] and "adjoint" in rows["lightning_qubit"]
    if lightning_gpu_starts():
        assert "│ yes" in rows["lightning_gpu"] and "adjoint" in rows["lightning_gpu"]
    else:
        assert "│ no" in rows["lightning_gpu"] and "qhybrid[gpu]" in rows["lightning_gpu"]
