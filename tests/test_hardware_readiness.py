"""`qhybrid circuit target=<device>`: the circuit as Qiskit would run it on a device. Its Qiskit
translation is the same unitary as PennyLane's (every registry gate, Qiskit's little-endian
order undone); transpiled to a calibration's coupling map it keeps to the basis and the coupled
pairs; the shots an epoch costs are the shots times the parameter-shift executions."""

from __future__ import annotations

import json

import numpy as np
import pennylane as qml
import pytest
from qiskit import transpile
from qiskit.quantum_info import Operator

from helpers import one_line
from qhybrid.quantum.gate_registry import GATES, gate_kind
from qhybrid.quantum.hardware import IBM_BASIS, _device, to_qiskit, transpiled
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.spec import QuantumSpec

EVERY_GATE = sorted({kind.name for kind in GATES.values()})
CHAIN = {"name": "chain", "qubits": [{"t1": 1e-4, "t2": 1e-4, "readout_01": 0.01, "readout_10": 0.01,
                                      "gate_error": 1e-3, "gate_time": 3e-8}] * 3,
         "pairs": [{"qubits": [0, 1], "gate_error": 1e-2, "gate_time": 3e-7},
                   {"qubits": [1, 2], "gate_error": 1e-2, "gate_time": 3e-7}]}


def _every_gate_program():
    layers = [{"gate": name, "wires": [0, 2] if gate_kind(name).n_wires == 2 else [1]} for name in EVERY_GATE]
    return program_of(QuantumSpec(n_qubits=3, circuit={"embedding": {"kind": "none"}, "layers": layers, "reps": 1}))


def test_the_qiskit_circuit_is_pennylanes_unitary_for_every_registry_gate():
    program = _every_gate_program()
    values = np.random.default_rng(5).uniform(-np.pi, np.pi, len(program.columns))
    qc = to_qiskit(program)
    bound = qc.assign_parameters({p: values[int(p.name[1:])] for p in qc.parameters})

    def circuit():
        for gate in program.gates:
            gate_kind(gate.name).operation()(*(values[c] for c in gate.columns), wires=list(gate.wires))

    theirs = qml.matrix(circuit, wire_order=range(3))()
    ours = Operator(bound).reverse_qargs().data  # Qiskit's qubit 0 is the least significant bit
    assert np.allclose(ours, theirs, atol=1e-12)


def test_transpiled_to_a_calibrations_chain_it_uses_the_basis_and_the_coupled_pairs_only(tmp_path):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(CHAIN))
    program = program_of(QuantumSpec(n_qubits=3, n_layers=2))  # ring CNOTs: (2, 0) is not coupled
    name, device, size = _device(str(path))
    circuit = transpile(to_qiskit(program), optimization_level=2, seed_transpiler=0, **device)
    pairs = {tuple(sorted(circuit.find_bit(q).index for q in i.qubits)) for i in circuit.data if len(i.qubits) == 2}
    assert name == "chain" and size == 3 and pairs <= {(0, 1), (1, 2)}
    record = transpiled(program, str(path), 100, {"per_sample": 9, "per_epoch": 900})
    assert set(record["gates_by_kind"]) <= set(IBM_BASIS)
    assert record["two_qubit_gates"] >= sum(len(g.wires) == 2 for g in program.gates)
    assert (record["shots_per_sample"], record["shots_per_epoch"]) == (900, 90_000)


def test_circuit_target_prints_the_transpiled_resources_and_the_shots_per_epoch(cli, tmp_path):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(CHAIN))
    result = cli(["circuit", "model=g6", "model.quantum.n_qubits=3", "data=iris_binary", f"target={path}",
                  "backend.shots=100", "output=c.png"])
    assert result.returncode == 0, result.stderr
    per_epoch = int(result.stdout.split(" per epoch (")[0].rsplit("; ", 1)[1].replace(",", ""))
    assert "on chain (transpiled by Qiskit" in result.stdout
    assert f"{100 * per_epoch:,} per epoch" in result.stdout
    one_line(cli(["circuit", "model=g6", "target=fake_nosuch"]), "target=fake_nosuch is neither a file nor")


def test_a_calibration_too_small_for_the_circuits_layout_is_one_line(tmp_path):
    from qhybrid.errors import ConfigError

    path = tmp_path / "split.json"  # pairs (0, 1) and (2, 3): no four connected qubits
    path.write_text(json.dumps({**CHAIN, "qubits": CHAIN["qubits"] + CHAIN["qubits"][:1],
                                "pairs": [{"qubits": [0, 1], "gate_error": 0.01, "gate_time": 3e-7},
                                          {"qubits": [2, 3], "gate_error": 0.01, "gate_time": 3e-7}]}))
    with pytest.raises(ConfigError) as refused:
        transpiled(program_of(QuantumSpec(n_qubits=4, n_layers=1)), str(path), None, None)
    assert "Qiskit cannot lay the circuit's 4 qubits out on its coupling map" in str(refused.value)
