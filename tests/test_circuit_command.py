"""`qhybrid circuit`: the configured circuit drawn and its resources counted from the same
Program every executor runs; a run folder keeps them; the qml-benchmarks family presets
compile to the circuits their comments describe and train; a Python circuit trains natively
with the first epoch's loss of PennyLane's default.qubit."""

from __future__ import annotations

import json

import pytest
from sklearn.datasets import load_iris

from helpers import fast, one_line
from qhybrid.quantum.circuit import Program
from qhybrid.quantum.gates import Gate
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.resources import depth, shift_executions
from qhybrid.schema import validate

FAMILIES = ["dressed_quantum_circuit", "data_reuploading", "iqp_variational"]


def test_circuit_prints_resources_and_writes_a_drawing(cli, tmp_path, compose):
    result = cli(["circuit", "model=g6", "output=g6.png"])
    assert result.returncode == 0, result.stderr
    program = program_of(validate(compose(["model=g6"])).model.quantum)
    two_qubit = sum(len(g.wires) == 2 for g in program.gates)
    columns = len(program.columns)  # every column is an input or a trainable weight: two shifts each
    assert f"two-qubit gates: {two_qubit}\n" in result.stdout and two_qubit > 0
    assert f"parameter-shift executions: {1 + 2 * columns} per training sample" in result.stdout
    assert f"depth: {depth(program)}\n" in result.stdout and "Rot" in result.stdout
    png = tmp_path / "g6.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    before = png.read_bytes()
    one_line(cli(["circuit", "model=g6", "output=g6.png"]), "already exists")
    assert png.read_bytes() == before


def test_a_classical_model_has_no_circuit(cli):
    one_line(cli(["circuit", "model=g0"]), "model=g0 is classical")


def test_depth_and_shift_counts_follow_the_gates():
    program = Program(n_qubits=3, columns=[("input", 0), ("weight", 0)], gates=[
        Gate("RX", (0,), (0,)), Gate("CNOT", (0, 1)), Gate("H", (2,)), Gate("CRX", (1, 2), (1,))])
    assert depth(program) == 3  # RX, CNOT | H in parallel, CRX after both
    assert shift_executions(program, trainable_weights=True) == 1 + 2 + 4
    assert shift_executions(program, trainable_weights=False) == 1 + 2


@pytest.mark.parametrize("family", FAMILIES)
def test_separable_twins_keep_the_gates_but_not_the_entanglement(family, compose):
    original = program_of(validate(compose([f"model={family}"])).model.quantum)
    twin = program_of(validate(compose([f"model={family}_separable"])).model.quantum)
    assert any(len(g.wires) == 2 for g in original.gates)
    assert not any(len(g.wires) == 2 for g in twin.gates)
    assert original.observables == twin.observables


def test_data_reuploading_scales_every_input_by_a_weight(compose):
    program = program_of(validate(compose(["model=data_reuploading"])).model.quantum)
    assert program.n_inputs == 3 * program.n_qubits
    assert program.input_map is not None and program.input_map_reads_weights  # w * x: per sample, trainable


def test_a_family_preset_trains(cli):
    result = cli(["train", "model=data_reuploading", "data=iris_binary", *fast()])
    assert result.returncode == 0, result.stderr
    assert "quantum readout: Z0 (1) -> 1 outputs" in result.stderr + result.stdout


CIRCUIT = """
import pennylane as qml

def circuit(inputs, weights):
    qml.AngleEmbedding(inputs, wires=range(2), rotation="Y")
    qml.BasicEntanglerLayers(weights, wires=range(2))
    qml.CRZ(inputs[0] * weights[0, 1], wires=[1, 0])
"""


def test_a_python_circuit_trains_natively_as_default_qubit_does(cli, tmp_path):
    (tmp_path / "my_circuit.py").write_text(CIRCUIT)
    losses, backends = [], []
    for backend in ("torch", "default_qubit"):
        folder = tmp_path / backend
        result = cli(["train", "model=g6", "data=iris_binary", "model.quantum.n_qubits=2",
                      "model.quantum.circuit=my_circuit.py:circuit", "model.quantum.weight_shapes={weights:[2,2]}",
                      f"backend={backend}", f"hydra.run.dir={folder}", *fast("trainer.max_epochs=1")])
        assert result.returncode == 0, result.stderr
        metrics = json.loads((folder / "metrics.json").read_text())
        backends.append(metrics["backend"]["name"])
        fold = json.loads((folder / "folds" / "fold_0.json").read_text())
        losses.append(fold["curves"]["history"][0]["train_loss"])
    assert backends == ["torch", "default_qubit"]
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)


def test_probs_under_adjoint_differentiation_is_one_line(cli, tmp_path):
    one_line(cli(["train", "model=g6", "data=iris", "backend=lightning_qubit", "model.quantum.observables=[Z0,probs]",
                  *fast()]), "adjoint", "probs")
    assert not (tmp_path / "outputs").exists()


def test_a_run_keeps_its_circuit_file_and_predicts_from_anywhere(cli, tmp_path):
    (tmp_path / "my_circuit.py").write_text(CIRCUIT)
    run = tmp_path / "run"
    result = cli(["train", "model=g6", "data=iris_binary", "model.quantum.n_qubits=2",
                  "model.quantum.circuit=my_circuit.py:circuit", "model.quantum.weight_shapes={weights:[2,2]}",
                  f"hydra.run.dir={run}", *fast()])
    assert result.returncode == 0, result.stderr
    assert (run / "circuit_source.py").read_text() == CIRCUIT
    assert json.loads((run / "circuit.json").read_text())["source"]["function"] == "circuit"
    (tmp_path / "my_circuit.py").write_text("this file changed after the run\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    load_iris(as_frame=True).data.iloc[60:70].to_csv(elsewhere / "new.csv", index=False)
    predicted = cli(["predict", f"run={run}", "input=new.csv"], cwd=elsewhere)
    assert predicted.returncode == 0, predicted.stderr
    assert len((elsewhere / "new_predictions.csv").read_text().splitlines()) == 11


def test_a_resumed_run_trains_the_circuit_its_finished_folds_did(cli, tmp_path):
    circuit = tmp_path / "mine.yaml"
    circuit.write_text("embedding: {kind: angle, rotation: Y}\nlayers: [{gate: RY, wires: all}]\nreps: 1\n")
    run = tmp_path / "run"
    args = ["train", "model=g6", "data=iris_binary", "model.quantum.n_qubits=2", f"model.quantum.circuit={circuit}",
            *fast()]
    assert cli([*args, f"hydra.run.dir={run}"]).returncode == 0
    before = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").unlink()  # as if stopped after the first fold
    (run / "folds" / "fold_1.json").unlink()
    copy = (run / "circuit_source.yaml").read_bytes()
    circuit.write_text("embedding: {kind: angle, rotation: Y}\nlayers: [{gate: RY, wires: all}]\nreps: 3\n")
    resumed = cli([*args, f"resume={run}"])
    assert resumed.returncode == 0, resumed.stderr
    after = json.loads((run / "metrics.json").read_text())
    assert after["parameters"] == before["parameters"]  # the copy's 2 weights, not the edited file's 6
    assert (run / "circuit_source.yaml").read_bytes() == copy
    assert json.loads((run / "circuit.json").read_text())["source"]["given"] == str(circuit)
