"""The YAML circuit language's inputs: the brick-wall wire patterns (double, double_odd) and the
data_reuploading preset at any width, the repetition index r inside a re-uploaded embedding,
the weight layout when an embedding that is not re-uploaded has weights, and every malformed
value as one line naming its key."""

from __future__ import annotations

import textwrap

import pytest
import torch

from helpers import one_line
from qhybrid.errors import ConfigError
from qhybrid.quantum.circuit_yaml import ops_from_yaml
from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.polynomial import variables
from qhybrid.quantum.programs import program_of
from qhybrid.quantum.spec import QuantumSpec
from qhybrid.schema import validate

# the pairs each pattern names, written out by hand
DOUBLE = {1: [], 2: [(0, 1)], 3: [(0, 1)], 5: [(0, 1), (2, 3)], 6: [(0, 1), (2, 3), (4, 5)]}
DOUBLE_ODD = {1: [], 2: [], 3: [(1, 2)], 5: [(1, 2), (3, 4)], 6: [(1, 2), (3, 4)]}


def native_layer(n_qubits: int, circuit: dict, observables=None) -> QuantumLayer:
    spec = QuantumSpec(n_qubits=n_qubits, circuit=circuit, observables=observables)
    spec.check()
    torch.manual_seed(0)
    return QuantumLayer(spec, lambda program, columns: NativeExecutor(program, "auto"))


@pytest.mark.parametrize("n", sorted(DOUBLE))
@pytest.mark.parametrize("pattern, expected", [("double", DOUBLE), ("double_odd", DOUBLE_ODD)])
def test_brick_wall_patterns_pair_neighbours(n, pattern, expected):
    ops, _, _ = ops_from_yaml({"layers": [{"gate": "CZ", "wires": pattern}]}, n)
    assert [op.wires for op in ops] == expected[n]


def test_a_pair_pattern_on_a_one_wire_gate_is_one_line():
    with pytest.raises(ConfigError, match=r"layers\[0\]\.wires='double' is not a wire selection.*double_odd"):
        ops_from_yaml({"layers": [{"gate": "RX", "wires": "double"}]}, 4)


@pytest.mark.parametrize("n", [3, 5])
def test_data_reuploading_entangles_even_then_odd_pairs_at_any_width(n, compose):
    program = program_of(validate(compose(["model=data_reuploading", f"model.quantum.n_qubits={n}"])).model.quantum)
    cz = [g.wires for g in program.gates if g.name == "CZ"]
    assert cz == (DOUBLE[n] + DOUBLE_ODD[n]) * 2  # two repetitions of [even pairs, odd pairs]
    assert program.n_inputs == 3 * n


def test_circuit_command_draws_data_reuploading_on_five_qubits(cli):
    result = cli(["circuit", "model=data_reuploading", "model.quantum.n_qubits=5", "output=dr.png"])
    assert result.returncode == 0, result.stderr
    assert "two-qubit gates: 8\n" in result.stdout  # 2 repetitions x (2 even + 2 odd CZs)


def test_a_reuploaded_embedding_reads_its_repetition():
    # RY((r + 1) x) uploaded in repetitions 0, 1, 2 adds up to RY(6 x): <Z> = cos(6 x)
    layer = native_layer(2, {"embedding": [{"gate": "RY", "wires": "all", "params": ["(r + 1) * x[i]"]}],
                             "reupload": True, "reps": 3}, observables=["Z0", "Z1"])
    x = torch.tensor([[0.3, -0.2], [0.11, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(layer(x), torch.cos(6 * x), atol=1e-12, rtol=0)


def test_an_angle_scale_multiplies_the_whole_input():
    layer = native_layer(1, {"embedding": {"kind": "angle", "rotation": "Y", "scale": "0.25 + 0.5"}},
                         observables=["Z0"])
    x = torch.tensor([[0.4], [-1.3]], dtype=torch.float64)
    torch.testing.assert_close(layer(x), torch.cos(0.75 * x), atol=1e-12, rtol=0)


EMBEDDING_WEIGHTS = {"embedding": [{"gate": "RY", "wires": "all", "params": ["w * x[i]"]}],
                     "layers": [{"gate": "RX", "wires": "all"}, {"gate": "CNOT", "wires": "ring"}], "reps": 2}


def test_weights_of_an_embedding_that_is_not_reuploaded_come_first_in_one_flat_vector():
    ops, n_inputs, _ = ops_from_yaml(EMBEDDING_WEIGHTS, 3)
    distinct = {v for op in ops for p in op.params for v in variables(p) if v >= n_inputs}
    layer = native_layer(3, EMBEDDING_WEIGHTS)
    assert layer.weights.numel() == len(distinct) == 3 + 2 * 3
    # the same gates as one repetition of layers: the same weights in the same order
    unrolled = native_layer(3, {"layers": EMBEDDING_WEIGHTS["embedding"] + EMBEDDING_WEIGHTS["layers"] * 2})
    unrolled.weights.data = layer.weights.data.reshape(unrolled.weights.shape).clone()
    x = torch.rand(5, 3, dtype=torch.float64) * 2 - 1
    torch.testing.assert_close(layer(x), unrolled(x), atol=1e-12, rtol=0)
    layer(x).sum().backward()
    assert layer.weights.grad is not None and bool(layer.weights.grad[:3].abs().sum() > 0)  # it trains


def test_circuit_command_counts_those_weights(cli, tmp_path):
    (tmp_path / "emb.yaml").write_text(textwrap.dedent("""
        embedding: [{gate: RY, wires: all, params: ["w * x[i]"]}]
        layers: [{gate: RX, wires: all}, {gate: CNOT, wires: ring}]
        reps: 2
    """))
    result = cli(["circuit", "model=g6", "model.quantum.n_qubits=3", "model.quantum.circuit=emb.yaml", "output=e.png"])
    assert result.returncode == 0, result.stderr
    assert "circuit weights: 9 " in result.stdout


@pytest.mark.parametrize("circuit, words", [
    ({"layers": [{"gate": "RX", "params": None}]}, "layers[0].params=None"),
    ({"layers": [{"gate": "RX", "params": {"a": 1}}]}, "layers[0].params={'a': 1}"),
    ({"layers": [{"gate": ["RX"]}]}, "layers[0].gate=['RX']"),
    ({"embedding": 5}, "embedding=5"),
    ({"embedding": {"kind": False}}, "embedding.kind=False is not an embedding"),
    ({"reps": 10**9, "layers": [{"gate": "RX"}]}, "circuit.reps: the circuit has more than 100,000 gates"),
    ({"embedding": {"kind": "iqp", "reps": 10**9}}, "embedding.reps: the circuit has more than 100,000 gates"),
    ({"embedding": {"kind": "iqp", "reps": "two"}}, "embedding.reps='two'"),
    ({"embedding": {"kind": "iqp", "reps": 0}}, "embedding.reps=0"),
    ({"embedding": {"kind": "iqp", "reps": -2}}, "embedding.reps=-2"),
    ({"embedding": {"kind": "iqp", "reps": True}}, "embedding.reps=True"),
    ({"embedding": {"kind": "iqp", "pairs": "zigzag"}}, "embedding.pairs='zigzag'"),
    ({"embedding": {"kind": "iqp", "pair": "ring"}}, "did you mean pairs"),
    ({"embedding": {"kind": "angle", "rotaton": "Y"}}, "did you mean rotation"),
    ({"embedding": {"kind": "angle", "scale": "s"}}, "embedding.scale"),
    ({"layers": [{"template": "basic_entangler", "rotation": "Q"}]}, "layers[0].rotation='Q'"),
    ({"layers": [{"template": ["strongly_entangling"]}]}, "layers[0].template=['strongly_entangling']"),
    ({"layers": [{"template": "strongly_entangling", "imprimitive": ["CZ"]}]}, "layers[0].imprimitive=['CZ']"),
    ({"n_inputs": "3"}, "n_inputs='3'"),
    ({"n_inputs": -1}, "n_inputs=-1"),
    ({"n_inputs": True}, "n_inputs=True"),
    ({"reps": "2"}, "reps='2'"),
    ({"reupload": "yes"}, "reupload='yes'"),
    ({"embedding": "amplitude", "layers": [{"gate": "RX", "params": ["x[8]"]}]}, "reads x[8]"),
    ({"layers": [{"gate": "RX", "params": [f"x[{1 << 30}]"]}]}, f"x[{1 << 30}]"),
    ({"layers": [{"gate": "RX", "params": ["x[1e300]"]}]}, "x[1e+300]"),
    ({"layers": [{"gate": "CNOT", "wires": [[0, 1.5]]}]}, "wires=[[0, 1.5]]"),
    ({"layers": [{"gate": "RX", "wires": [True]}]}, "wires=[True]"),
])
def test_malformed_values_are_one_line_naming_the_key(circuit, words):
    with pytest.raises(ConfigError) as err:
        QuantumSpec(n_qubits=3, circuit=circuit).check()
    assert words in str(err.value) and "Fix:" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("model, override, words", [
    ("data_reuploading", "model.quantum.circuit.reps=0", "circuit.reps=0"),
    ("data_reuploading", "model.quantum.circuit.layers.2.wires=[[0,1.5]]", "layers[2].wires=[[0, 1.5]]"),
    ("dressed_quantum_circuit", "model.quantum.circuit.embedding=5", "embedding=5"),
])
def test_malformed_values_on_the_command_line_are_one_line(cli, model, override, words):
    one_line(cli(["circuit", f"model={model}", override, "output=x.png"]), words)
