"""Circuits of the user's own, as YAML and as a Python function: the same circuit gives the
same numbers both ways, a recorded function gives what PennyLane gives running the function
itself (outputs and gradients, float64), and what cannot compile is one line."""

from __future__ import annotations

import math
import textwrap

import pennylane as qml
import pytest
import torch

from qhybrid.errors import ConfigError
from qhybrid.quantum.backends import resolve_backend
from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.pennylane_executor import PennyLaneExecutor
from qhybrid.quantum.resources import shift_executions
from qhybrid.quantum.spec import QuantumSpec
from qhybrid.schema import BackendSpec

PYTHON_CIRCUITS = '''
import pennylane as qml

def sel(inputs, weights):
    qml.AngleEmbedding(inputs, wires=range(4))
    qml.StronglyEntanglingLayers(weights, wires=range(4))

def iqp(inputs, weights):
    qml.IQPEmbedding(inputs, wires=range(3))
    qml.BasicEntanglerLayers(weights, wires=range(3), rotation=qml.RY)
    return [qml.expval(qml.PauliZ(0) @ qml.PauliZ(1)), qml.probs(wires=[2])]

def reupload(inputs, weights, scale):
    for layer in range(2):
        for w in range(3):
            qml.Rot(scale[layer, w] * inputs[w], 0.5 * inputs[w] + weights[layer, w, 0], weights[layer, w, 1], wires=w)
        qml.CZ(wires=[0, 1]); qml.CRX(inputs[0] * inputs[1], wires=[1, 2]); qml.Toffoli(wires=[0, 1, 2])
    qml.MultiRZ(weights[0, 0, 0] - 1.0, wires=[0, 2])

def cosine(inputs, weights):
    qml.RX(qml.math.cos(inputs[0]), wires=0)

def branching(inputs, weights):
    if float(inputs[0]) > 0:
        qml.RX(inputs[0], wires=0)
    qml.RY(inputs[1], wires=0)

class Weird(qml.operation.Operation):
    num_wires = 1
    num_params = 1

    @staticmethod
    def compute_matrix(theta):
        c, s = qml.math.cos(theta / 2), qml.math.sin(theta / 2)
        return qml.math.stack([qml.math.stack([c, -s]), qml.math.stack([s, c])]) * (1 + 0j)

def opaque(inputs, weights):
    qml.RX(inputs[0], wires=0)
    Weird(weights[0], wires=0)
    qml.CNOT(wires=[0, 1])

def fixed_opaque(inputs, weights):
    qml.RX(inputs[0], wires=0)
    Weird(0.3, wires=0)
    qml.RY(weights[0] + inputs[1], wires=1)
    qml.CNOT(wires=[0, 1])
'''


@pytest.fixture(scope="module")
def circuits(tmp_path_factory):
    path = tmp_path_factory.mktemp("circuits") / "my_circuits.py"
    path.write_text(PYTHON_CIRCUITS)
    return str(path)


def native_layer(spec: QuantumSpec, seed: int = 0) -> QuantumLayer:
    spec.check()
    torch.manual_seed(seed)
    return QuantumLayer(spec, lambda program, columns: NativeExecutor(program, "auto"))


def test_python_and_yaml_give_the_same_numbers(circuits):
    python = native_layer(QuantumSpec(n_qubits=4, circuit=f"{circuits}:sel", weight_shapes={"weights": [2, 4, 3]}))
    yaml = native_layer(QuantumSpec(n_qubits=4, circuit={"embedding": {"kind": "angle", "rotation": "X"},
                                                         "layers": [{"template": "strongly_entangling"}], "reps": 2}))
    assert yaml.weights.shape == (2, 12) and python.weights.shape == (2, 4, 3)
    yaml.weights.data = python.weights.data.reshape(2, 12).clone()
    x = torch.rand(6, 4, dtype=torch.float64) * 3 - 1.5
    torch.testing.assert_close(python(x), yaml(x), atol=1e-12, rtol=0)


def test_yaml_iqp_and_gates_equal_the_python_function(circuits):
    python = native_layer(QuantumSpec(n_qubits=3, circuit=f"{circuits}:iqp", weight_shapes={"weights": [1, 3]}))
    yaml = native_layer(QuantumSpec(n_qubits=3, observables=["Z0 Z1", "probs(2)"], circuit={
        "embedding": "iqp", "layers": [{"gate": "RY", "wires": "all"}, {"gate": "CNOT", "wires": "ring"}]}))
    yaml.weights.data = python.weights.data.clone()
    x = torch.rand(5, 3, dtype=torch.float64) * 3 - 1.5
    assert python.n_outputs == yaml.n_outputs == 3  # the function's returned measurements are its readout
    torch.testing.assert_close(python(x), yaml(x), atol=1e-12, rtol=0)


def _pennylane_reference(fn, x, weights: dict, n_qubits: int, observables) -> torch.Tensor:
    device = qml.device("default.qubit", wires=n_qubits)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def run(sample):
        fn(sample, **weights)
        return [qml.expval(o) for o in observables]
    return torch.stack([torch.stack(list(run(sample))) for sample in x])  # a loop over samples: the reference


def test_recorded_function_equals_pennylane_running_it(circuits):
    spec = QuantumSpec(n_qubits=3, circuit=f"{circuits}:reupload", observables=["Z0", "X1 Y2", "0.5 Z2 - Y0"],
                       weight_shapes={"weights": [2, 3, 2], "scale": [2, 3]})
    layer = native_layer(spec, seed=3)
    namespace: dict = {}
    exec(compile(PYTHON_CIRCUITS, "circuits", "exec"), namespace)
    flat = layer.weights.detach().clone().requires_grad_(True)
    weights = {"weights": flat[:12].reshape(2, 3, 2), "scale": flat[12:].reshape(2, 3)}
    x = (torch.rand(4, 3, dtype=torch.float64) * 3 - 1.5).requires_grad_(True)
    observables = [qml.PauliZ(0), qml.PauliX(1) @ qml.PauliY(2), 0.5 * qml.PauliZ(2) - qml.PauliY(0)]
    expected = _pennylane_reference(namespace["reupload"], x, weights, 3, observables)
    ours = layer(x)
    torch.testing.assert_close(ours, expected, atol=1e-10, rtol=0)
    projection = torch.rand_like(ours)
    ours_grads = torch.autograd.grad((ours * projection).sum(), [x, layer.weights])
    expected_grads = torch.autograd.grad((expected * projection).sum(), [x, flat])
    for a, b in zip(ours_grads, expected_grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    assert layer.program.input_map is not None and layer.program.input_map_reads_weights  # scale * x: per sample


def test_weight_only_gates_stay_shared(circuits):
    program = native_layer(QuantumSpec(n_qubits=3, circuit=f"{circuits}:reupload",
                                       weight_shapes={"weights": [2, 3, 2], "scale": [2, 3]})).program
    multirz = [c for g in program.gates if g.name == "RZ" for c in g.columns]
    assert any(program.columns[c][0] == "weight" for c in multirz)  # weights[0,0,0] - 1: data-independent


@pytest.mark.parametrize("name, words", [
    ("cosine", "not a polynomial"), ("branching", "different gates for different inputs"),
    ("nosuch", "has no function 'nosuch'"),
])
def test_python_circuits_that_cannot_compile_are_one_line(circuits, name, words):
    with pytest.raises(ConfigError) as err:
        QuantumSpec(n_qubits=2, circuit=f"{circuits}:{name}", weight_shapes={"weights": [2]}).check()
    assert words in str(err.value) and "Fix:" in str(err.value)


def test_an_operation_outside_the_registry_is_kept_for_pennylane(circuits):
    spec = QuantumSpec(n_qubits=2, circuit=f"{circuits}:opaque", weight_shapes={"weights": [1]})
    spec.check()
    from qhybrid.quantum.programs import program_of

    program = program_of(spec)
    assert list(program.opaque) == ["Weird"] and any(g.name == "Weird" for g in program.gates)


def test_constant_parameters_are_neither_shifted_nor_counted(circuits):
    spec = QuantumSpec(n_qubits=2, circuit={"embedding": {"kind": "angle", "rotation": "Y"},
                                            "layers": [{"gate": "RX", "wires": "all", "params": ["pi / 4"]},
                                                       {"gate": "RZ", "wires": "all"}]})
    layer = native_layer(spec)
    program = layer.program
    assert len(program.constant_columns) == 2 and not program.constant_columns & set(layer.shift_columns())
    assert len(layer.shift_columns()) == program.n_columns - 2
    assert shift_executions(program, trainable_weights=True) == 1 + 2 * (program.n_columns - 2)
    # an operation outside the registry with a fixed parameter needs no shift rule of its own
    spec = QuantumSpec(n_qubits=2, circuit=f"{circuits}:fixed_opaque", weight_shapes={"weights": [1]})
    shifted = make_pennylane_layer(spec, "parameter-shift")
    exact = make_pennylane_layer(spec, "backprop")
    exact.weights.data = shifted.weights.data.clone()
    x = torch.tensor([[0.3, -0.8], [1.1, 0.4]], dtype=torch.float64, requires_grad=True)
    grads = [torch.autograd.grad(layer(x).sum(), [x, layer.weights]) for layer in (shifted, exact)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    # a user's class that cannot take a batch (Weird builds its matrix batch-last) still gives
    # PennyLane's numbers, sample by sample
    namespace: dict = {}
    exec(compile(PYTHON_CIRCUITS, "circuits", "exec"), namespace)
    expected = _pennylane_reference(namespace["fixed_opaque"], x, {"weights": exact.weights}, 2,
                                    [qml.PauliZ(0), qml.PauliZ(1)])
    torch.testing.assert_close(exact(x), expected, atol=1e-10, rtol=0)


def make_pennylane_layer(spec: QuantumSpec, diff_method: str) -> QuantumLayer:
    spec.check()
    backend = resolve_backend(BackendSpec(name="pennylane", device="default.qubit", diff_method=diff_method,
                                          dtype="float64"), spec.n_qubits, False, run_seed=0)
    return QuantumLayer(spec, lambda program, cols: PennyLaneExecutor(program, backend, cols, None), dtype="float64")


@pytest.mark.parametrize("circuit, words", [
    ({"layers": [{"gate": "RQ"}]}, "is not a known gate"),
    ({"layers": [{"gate": "CNOT", "wires": [0, 5]}]}, "is not 2 distinct wire"),
    ({"layers": [{"gate": "RX", "params": ["x[0] ** 3"]}]}, "polynomial of degree <= 2"),
    ({"layers": [{"gate": "RX", "params": ["sin(x[0])"]}]}, "is not allowed"),
    ({"layers": [{"gate": "RX", "params": ["y"]}]}, "unknown name 'y'"),
    ({"layers": [{"gate": "Rot", "params": ["w"]}]}, "takes 3 parameter"),
    ({"embedding": "fourier"}, "is not an embedding"),
    ({"reps": 0}, "out of range"),
    ({"n_inputs": 1, "layers": [{"gate": "RX", "params": ["x[3]"]}]}, "reads x[3]"),
    ({"layers": [{"gate": "RX", "params": ["x[0] / 0"]}]}, "cannot be computed"),
    ({"layers": [{"gate": "RX", "params": ["10.0 ** 400"]}]}, "cannot be computed"),
    (5, "neither a circuit description nor a file"),
])
def test_bad_yaml_circuits_are_one_line(circuit, words):
    with pytest.raises(ConfigError) as err:
        QuantumSpec(n_qubits=3, circuit=circuit).check()
    assert words in str(err.value) and "\n" not in str(err.value)


def test_yaml_parameters_scale_and_multiply_inputs():
    layer = native_layer(QuantumSpec(n_qubits=2, observables=["Z0", "Z1"], circuit={"layers": [
        {"gate": "RY", "wires": 0, "params": ["pi / 2 * x[0]"]},
        {"gate": "RY", "wires": 1, "params": ["x[0] * x[1] + 0.25"]}]}))
    x = torch.tensor([[0.3, -0.7], [1.1, 0.4]], dtype=torch.float64)
    expected = torch.stack([torch.cos(math.pi / 2 * x[:, 0]), torch.cos(x[:, 0] * x[:, 1] + 0.25)], dim=1)
    torch.testing.assert_close(layer(x), expected, atol=1e-12, rtol=0)
    assert layer.n_inputs == 2 and layer.weights is None


def test_circuit_file_is_read(tmp_path):
    path = tmp_path / "circuit.yaml"
    path.write_text(textwrap.dedent("""
        embedding: {kind: angle, rotation: Y}
        layers: [{gate: CRZ, wires: ring}]
        reps: 3
    """))
    layer = native_layer(QuantumSpec(n_qubits=3, circuit=str(path)))
    assert layer.weights.shape == (3, 3) and sum(g.name == "CRZ" for g in layer.program.gates) == 9
