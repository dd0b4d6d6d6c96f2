"""Python circuits of the user's own, at the edges of what recording reads: what qhybrid cannot
run faithfully (mid-circuit measurements, classical control, noise, trainable or unreadable
readouts) is one line naming the operation; numpy parameters and wires are numbers like any
other; file suffixes are read in any case; an edited file is read again in the same process."""

from __future__ import annotations

import pytest
import torch

from helpers import one_line
from qhybrid.errors import ConfigError
from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.programs import is_python, program_of
from qhybrid.quantum.spec import QuantumSpec
from qhybrid.registry import import_option_module

EDGES = '''
import numpy as np
import pennylane as qml

class Broken(qml.operation.Operation):
    num_wires = 1
    num_params = 0

    @staticmethod
    def compute_decomposition(wires):
        raise RuntimeError("this decomposition is broken")

def broken(inputs, weights):
    qml.RX(inputs[0], wires=0)
    Broken(wires=0)

def measured(inputs, weights):
    qml.RX(inputs[0], wires=0)
    qml.measure(0)
    qml.RY(weights[0], wires=1)

def conditioned(inputs, weights):
    with qml.QueuingManager.stop_recording():  # the condition alone, without its measurement
        m = qml.measure(0)
    qml.cond(m, qml.RY)(weights[0], wires=1)

def depolarized(inputs, weights):
    qml.RX(inputs[0], wires=0)
    qml.DepolarizingChannel(0.1, wires=0)

def damped_template(inputs, weights):
    qml.AngleEmbedding(inputs, wires=range(2))
    qml.AmplitudeDamping(0.2, wires=1)

def trainable_hamiltonian(inputs, weights):
    qml.RX(inputs[0], wires=0)
    return [qml.expval(qml.Hamiltonian([weights[0], 1.0], [qml.PauliZ(0), qml.PauliX(1)]))]

def detached_hamiltonian(inputs, weights):
    qml.RX(inputs[0], wires=0)
    return [qml.expval(qml.Hamiltonian([float(inputs[1]), 1.0], [qml.PauliZ(0), qml.PauliX(1)]))]

def constant_hamiltonian(inputs, weights):
    qml.RX(inputs[0], wires=0)
    return [qml.expval(qml.Hamiltonian(np.array([0.5, -1.0]), [qml.PauliZ(0), qml.PauliZ(1)]))]

def state(inputs, weights):
    qml.RX(inputs[0], wires=0)
    return qml.state()

def sample(inputs, weights):
    qml.RX(inputs[0], wires=0)
    return qml.sample(qml.PauliZ(0))

def broadcast(inputs, weights):
    qml.RX(np.array([0.3, 0.4]), wires=0)

def complex_angle(inputs, weights):
    qml.RX(np.array(0.3 + 1j), wires=0)

def nan_angle(inputs, weights):
    qml.RX(np.nan, wires=0)

def float_wire(inputs, weights):
    qml.RX(inputs[0], wires=0.5)

def with_numpy(inputs, weights):
    qml.RX(np.float64(0.3) * inputs[0], wires=np.int64(0))
    qml.RY(np.array([0.7]), wires=np.arange(2)[1])
    qml.RZ(weights[0] + np.float32(0.25), wires=1)
    qml.CNOT(wires=np.array([0, 1]))
    qml.CRX(weights[1], wires=[np.int32(1), np.int32(0)])

def with_python(inputs, weights):
    qml.RX(0.3 * inputs[0], wires=0)
    qml.RY(0.7, wires=1)
    qml.RZ(float(np.float32(0.25)) + weights[0], wires=1)
    qml.CNOT(wires=[0, 1])
    qml.CRX(weights[1], wires=[1, 0])
'''


@pytest.fixture(scope="module")
def edges(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("edges") / "edges.py"
    path.write_text(EDGES)
    return str(path)


def _spec(circuit: str, **kwargs) -> QuantumSpec:
    return QuantumSpec(n_qubits=2, circuit=circuit, weight_shapes={"weights": [2]}, **kwargs)


def _layer(spec: QuantumSpec) -> QuantumLayer:
    spec.check()
    torch.manual_seed(0)
    return QuantumLayer(spec, lambda program, columns: NativeExecutor(program, "auto"))


@pytest.mark.parametrize("name, words", [
    ("measured", ["MidMeasureMP on wires [0]", "mid-circuit measurement", "measure only at the end"]),
    ("conditioned", ["Conditional(RY) on wires [1]", "qml.cond", "apply the gate unconditionally"]),
    ("depolarized", ["DepolarizingChannel on wires [0]", "noise channel", "later feature", "default.mixed"]),
    ("damped_template", ["AmplitudeDamping on wires [1]", "noise channel"]),
    ("trainable_hamiltonian", ["trainable coefficients", "constant coefficients"]),
    ("detached_hamiltonian", ["different measurements for different inputs or weights"]),
    ("state", ["state(wires=[]) (StateMP)", "cannot read out"]),
    ("sample", ["sample(Z(0)) (SampleMP)", "cannot read out"]),
    ("broadcast", ["parameter 0 of RX on wires [0] holds 2 values (shape [2])", "one number"]),
    ("complex_angle", ["parameter 0 of RX on wires [0] is", "not a real number"]),
    ("nan_angle", ["parameter 0 of RX on wires [0] is nan, not a finite number"]),
    ("float_wire", ["RX acts on wire 0.5, which is not a wire number", "integers 0..1"]),
    ("broken", ["could not decompose", "RuntimeError: this decomposition is broken"]),
])
def test_what_qhybrid_cannot_run_faithfully_is_one_line(edges, name, words):
    with pytest.raises(ConfigError) as err:
        _spec(f"{edges}:{name}").check()
    message = str(err.value)
    assert "\n" not in message and "Fix:" in message
    for word in words:
        assert word in message, (word, message)


def test_constant_coefficients_are_the_readout(edges):
    program = program_of(_spec(f"{edges}:constant_hamiltonian"))
    assert [o.label for o in program.observables] == ["0.5 Z0 + -1.0 Z1"]


def test_numpy_parameters_and_wires_are_numbers_like_any_other(edges):
    ours, reference = _layer(_spec(f"{edges}:with_numpy")), _layer(_spec(f"{edges}:with_python"))
    assert [(g.name, g.wires) for g in ours.program.gates] == [(g.name, g.wires) for g in reference.program.gates]
    assert all(type(w) is int for g in ours.program.gates for w in g.wires)
    x = torch.rand(5, 2, dtype=torch.float64) * 3 - 1.5
    torch.testing.assert_close(ours(x), reference(x), atol=1e-12, rtol=0)


def test_a_noisy_circuit_is_refused_before_anything_is_written(cli, tmp_path):
    (tmp_path / "noisy.py").write_text(EDGES)
    one_line(cli(["circuit", "model=g6", "model.quantum.n_qubits=2", "model.quantum.circuit=noisy.py:depolarized",
                  "model.quantum.weight_shapes={weights:[2]}"]), "DepolarizingChannel", "noise channel")
    assert not (tmp_path / "outputs").exists()


ONE_GATE = '''
import pennylane as qml

def circuit(inputs, weights):
    qml.{gate}(inputs[0] + weights[0], wires=0)
'''


@pytest.mark.parametrize("suffix", [".PY", ".Py"])
def test_a_python_file_is_read_in_any_case(tmp_path, suffix):
    path = tmp_path / f"circuit{suffix}"
    path.write_text(ONE_GATE.format(gate="RY"))
    assert is_python(f"{path}:circuit")
    assert [g.name for g in program_of(_spec(f"{path}:circuit")).gates] == ["RY"]


@pytest.mark.parametrize("suffix", [".YAML", ".Yml"])
def test_a_yaml_file_is_read_in_any_case(tmp_path, suffix):
    path = tmp_path / f"circuit{suffix}"
    path.write_text("layers: [{gate: CRZ, wires: ring}]\nreps: 2\n")
    assert not is_python(str(path))
    layer = _layer(QuantumSpec(n_qubits=3, circuit=str(path)))
    assert sum(g.name == "CRZ" for g in layer.program.gates) == 6


def test_an_edited_circuit_file_is_recorded_again_in_the_same_process(tmp_path):
    path = tmp_path / "edited.py"
    path.write_text(ONE_GATE.format(gate="RX"))
    assert [g.name for g in program_of(_spec(f"{path}:circuit")).gates] == ["RX"]
    path.write_text(ONE_GATE.format(gate="RY"))  # the same size, at once: an mtime may not move
    assert [g.name for g in program_of(_spec(f"{path}:circuit")).gates] == ["RY"]


def test_a_registering_module_runs_once_even_when_edited(tmp_path):
    path = tmp_path / "registers.py"
    path.write_text("RUNS = [1]\n")
    first = import_option_module(str(path), "data.module")
    path.write_text("RUNS = [2]\n")
    assert import_option_module(str(path), "data.module") is first and first.RUNS == [1]


def test_an_edited_file_that_no_longer_imports_is_one_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(ONE_GATE.format(gate="RX"))
    program_of(_spec(f"{path}:circuit"))
    path.write_text("def circuit(inputs, weights):\n    return (\n")
    with pytest.raises(ConfigError) as err:
        program_of(_spec(f"{path}:circuit"))
    assert "failed while it was imported: SyntaxError" in str(err.value) and "\n" not in str(err.value)
