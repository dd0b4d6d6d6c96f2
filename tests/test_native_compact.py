"""The native executor's compact strategy (qhybrid.quantum.native_compact: compiled loops,
one autograd node) against PennyLane's default.qubit: random circuits of the family it
covers (an angle embedding on any wires, single-wire gates reading weights, nothing or a
sample's number, CNOT/SWAP/CZ, controlled phases reading a soft gate) give the same outputs
and input/gate/weight gradients within 1e-10 in float64, in both of its modes (one 2^n x 2^n
matrix, and step by step); anything else is left to the torch plans."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qhybrid.errors import ConfigError
from qhybrid.quantum import native_compact
from qhybrid.quantum.circuit import SOURCE_GATE, SOURCE_INPUT, SOURCE_WEIGHT, Angles, Program
from qhybrid.quantum.gate_registry import gate_kind
from qhybrid.quantum.gate_tables import _TABLES
from qhybrid.quantum.gates import Gate
from qhybrid.quantum.layer import QuantumLayer
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.native_kernels import gate_rows
from qhybrid.quantum.observables import default_observables, output_width, parse_observables
from qhybrid.quantum.programs import program_of
from qhybrid.schema import QuantumSpec

from qhybrid.quantum.pennylane_executor import build_qnode

from test_native_any_gate import _assert_as_pennylane, pennylane_outputs

SINGLE = ["RX", "RY", "RZ", "PhaseShift", "Rot", "ROT", "U3", "H", "S", "T", "X", "Y", "Z"]


@st.composite
def compact_programs(draw):
    """An angle embedding on every wire (the inputs in any order), 0-2 full stages of weight
    gates, then up to 24 single-wire weight/fixed gates and CNOT, SWAP, CZ anywhere; read as
    <Z> on every wire or as Z words and probs."""
    n = draw(st.integers(1, 7))
    n_weights = draw(st.integers(1, 6))
    columns = [(SOURCE_INPUT, i) for i in draw(st.permutations(range(n)))]
    embedding = draw(st.sampled_from(["RX", "RY", "RZ"]))
    gates = [Gate(embedding, (w,), (w,)) for w in range(n)]

    def single(name: str, wire: int) -> Gate:
        cols = []
        for _ in range(gate_kind(name).n_params):
            columns.append((SOURCE_WEIGHT, draw(st.integers(0, n_weights - 1))))
            cols.append(len(columns) - 1)
        return Gate(name, (wire,), tuple(cols))

    for _ in range(draw(st.integers(0, 2))):
        gates += [single(draw(st.sampled_from(SINGLE)), w) for w in range(n)]
    for _ in range(draw(st.integers(0, 24))):
        if n > 1 and draw(st.booleans()):
            gates.append(Gate(draw(st.sampled_from(["CNOT", "SWAP", "CZ"])), tuple(draw(st.permutations(range(n)))[:2])))
        else:
            gates.append(single(draw(st.sampled_from(SINGLE)), draw(st.integers(0, n - 1))))
    program = Program(n_qubits=n, gates=gates, columns=columns, weight_shape=(n_weights,), n_inputs=n,
                      observables=draw(diagonal_readouts(n)))
    return program, draw(st.sampled_from([1, 2, 5, 33])), draw(st.integers(0, 2**31 - 1))


@st.composite
def diagonal_readouts(draw, n: int):
    """None (<Z> on every wire), or up to three of: a Z word, a sum of them with coefficients,
    probs of some wires in any order."""
    if draw(st.booleans()):
        return None
    wires = st.lists(st.integers(0, n - 1), min_size=1, max_size=min(n, 3), unique=True)
    labels = []
    for _ in range(draw(st.integers(1, 3))):
        kind, chosen = draw(st.sampled_from(["word", "sum", "probs"])), draw(wires)
        word = " ".join(f"Z{w}" for w in chosen)
        labels.append(f"probs({', '.join(map(str, chosen))})" if kind == "probs" else
                      word if kind == "word" else f"0.5 {word} - 1.5 Z{chosen[0]}")
    return parse_observables(labels, n)


@pytest.mark.parametrize("dense", [True, False])
# the patched mode is the same for every example: the fixture's not being reset is harmless
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=compact_programs())
def test_compact_equals_default_qubit(dense, case, monkeypatch):
    program, batch, seed = case
    monkeypatch.setattr(native_compact, "dense_pays", lambda n, block_rows, batch: dense)
    assert NativeExecutor(program, "compact").compact is not None
    _assert_as_pennylane(program, "compact", batch, seed)


PER_SAMPLE = ["RX", "RY", "RZ", "PhaseShift"]


@st.composite
def per_sample_programs(draw):
    """Circuits that read a sample's numbers beyond the embedding: an embedding on some wires
    (others start with a weight or fixed gate, or nothing), then up to 20 of: single-wire
    weight/fixed gates, one-parameter gates reading an input or a soft gate, CNOT/SWAP/CZ, and
    controlled phases reading an input or a soft gate (soft gating, re-uploading)."""
    n = draw(st.integers(1, 6))
    n_weights = draw(st.integers(1, 4))
    columns: list = []

    def column(source: str, index: int) -> tuple:
        columns.append((source, index))
        return (len(columns) - 1,)

    def sample_column() -> tuple:
        return column(draw(st.sampled_from([SOURCE_INPUT, SOURCE_GATE])), draw(st.integers(0, n - 1)))

    def single(name: str, wire: int) -> Gate:
        return Gate(name, (wire,), sum((column(SOURCE_WEIGHT, draw(st.integers(0, n_weights - 1)))
                                        for _ in range(gate_kind(name).n_params)), ()))

    gates = []
    for w in range(n):
        start = draw(st.sampled_from(["embed", "embed", "gate", "none"]))
        if start == "embed":
            gates.append(Gate(draw(st.sampled_from(["RX", "RY", "RZ"])), (w,), column(SOURCE_INPUT, draw(st.integers(0, n - 1)))))
        elif start == "gate":
            gates.append(single(draw(st.sampled_from(SINGLE)), w))
    for _ in range(draw(st.integers(0, 20))):
        what = draw(st.sampled_from(["single", "sample", "sample", "entangle", "phase"] if n > 1 else ["single", "sample"]))
        wires = tuple(draw(st.permutations(range(n)))[:2])
        if what == "single":
            gates.append(single(draw(st.sampled_from(SINGLE)), wires[0]))
        elif what == "sample":
            gates.append(Gate(draw(st.sampled_from(PER_SAMPLE)), wires[:1], sample_column()))
        elif what == "entangle":
            gates.append(Gate(draw(st.sampled_from(["CNOT", "SWAP", "CZ"])), wires))
        else:
            gates.append(Gate("ControlledPhaseShift", wires, sample_column()))
    program = Program(n_qubits=n, gates=gates, columns=columns, weight_shape=(n_weights,), n_inputs=n,
                      observables=draw(diagonal_readouts(n)))
    return program, draw(st.sampled_from([1, 2, 5, 33])), draw(st.integers(0, 2**31 - 1))


def _outputs_and_gradients(run, program: Program, sources: list[torch.Tensor], projection: torch.Tensor):
    x, g, w = (s.clone().requires_grad_(True) for s in sources)
    out = run(Angles(program, x, g, w))
    if out.requires_grad:
        (out * projection).sum().backward()
    return [out.detach()] + [torch.zeros_like(s) if s.grad is None else s.grad for s in (x, g, w)]


@pytest.mark.parametrize("dense", [True, False])
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=per_sample_programs())
def test_compact_reads_samples_mid_circuit_as_default_qubit_does(dense, case, monkeypatch):
    """Outputs and the gradients of inputs, soft gates and weights; a circuit whose steps read
    a sample's numbers always runs step by step (the patched dense choice notwithstanding)."""
    program, batch, seed = case
    monkeypatch.setattr(native_compact, "dense_pays", lambda n, block_rows, batch: dense)
    native = NativeExecutor(program, "compact")
    assert native.compact is not None
    generator = torch.Generator().manual_seed(seed)
    n = program.n_qubits
    sources = [torch.rand(batch, n, generator=generator, dtype=torch.float64) * 4 - 2,
               torch.rand(batch, n, generator=generator, dtype=torch.float64) * 4 - 2,
               torch.rand(program.weight_shape, generator=generator, dtype=torch.float64) * 6]
    observables = program.observables or default_observables(n)
    projection = torch.rand(batch, output_width(observables), generator=generator, dtype=torch.float64)
    qnode = build_qnode(program, qml.device("default.qubit", wires=n), "backprop", None)

    def reference(angles):
        return pennylane_outputs(qnode(angles.matrix()), observables, batch)

    ours = _outputs_and_gradients(native, program, sources, projection)
    theirs = _outputs_and_gradients(reference, program, sources, projection)
    for a, b, what in zip(ours, theirs, ("outputs", "input gradients", "gate gradients", "weight gradients")):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0, msg=what)


def test_tabulated_gates_and_derivatives_match_the_registry():
    """Each table's matrices equal the registry's, and its pi-shift derivatives central differences."""
    rng = np.random.default_rng(0)
    for name, table in _TABLES.items():
        p = table.n_params
        weights = rng.uniform(-4, 4, 5 * p)
        params = np.zeros((5, 3), dtype=np.int64)
        params[:, :p] = np.arange(5 * p).reshape(5, p)
        tables = tuple(np.array([getattr(table, f)])
                       for f in ("combos", "shift_cos", "shift_sin", "first", "second", "sign", "rules"))
        tables += (np.array([p]),)

        def build(w):
            mats, derivatives = np.zeros((5, 2, 2), complex), np.zeros((5, 3, 2, 2), complex)
            gate_rows(w, np.zeros(5, dtype=np.int64), params, np.full(5, -1), tables, mats, derivatives)
            return mats, derivatives

        mats, derivatives = build(weights)
        expected = gate_kind(name).matrix(tuple(torch.from_numpy(weights.reshape(5, p)).unbind(-1))).numpy()
        np.testing.assert_allclose(mats, expected, atol=1e-14, err_msg=name)
        for j in range(p):
            step = np.zeros_like(weights)
            step[params[:, j]] = 1e-6
            central = (build(weights + step)[0] - build(weights - step)[0]) / 2e-6
            np.testing.assert_allclose(derivatives[:, j], central, atol=1e-8, err_msg=f"{name} parameter {j}")


@pytest.mark.parametrize("spec", [QuantumSpec(n_qubits=4, n_layers=2),  # g6's circuit; g5's: soft gating, no ansatz
                                  QuantumSpec(n_qubits=4, ansatz="none", gating="soft", rotation="Y",
                                              soft_tau_trainable=True)])
def test_auto_runs_the_usual_circuits_compact_on_the_cpu_in_either_precision(spec):
    layers = {dtype: QuantumLayer(spec, lambda program, cols: NativeExecutor(program), dtype=dtype)
              for dtype in ("float64", "float32")}
    layers["float32"].load_state_dict({k: v.float() for k, v in layers["float64"].state_dict().items()})
    x = torch.rand(8, 4, dtype=torch.float64) * 3 - 1.5
    outs = {}
    for dtype, layer in layers.items():
        inputs = x.to(layer.sim_dtype).detach().requires_grad_(True)
        outs[dtype] = layer(inputs)
        outs[dtype].sum().backward()
        assert layer.executor.last_strategy == "compact"
        assert outs[dtype].dtype == inputs.grad.dtype == layer.sim_dtype
        assert all(p.grad.dtype == layer.sim_dtype for p in layer.parameters())
    np.testing.assert_allclose(outs["float32"].detach().numpy(), outs["float64"].detach().numpy(), atol=1e-5)
    for single, double in zip(layers["float32"].parameters(), layers["float64"].parameters()):
        np.testing.assert_allclose(single.grad.numpy(), double.grad.numpy(), atol=1e-4)


def test_frozen_weights_and_inputs_without_gradients():
    spec = QuantumSpec(n_qubits=3, n_layers=2, trainable=False)
    layer = QuantumLayer(spec, lambda program, cols: NativeExecutor(program, "compact"))
    x = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    layer(x).sum().backward()
    assert layer.weights.grad is None and x.grad is not None and torch.isfinite(x.grad).all()
    with torch.no_grad():
        assert layer(x).shape == (4, 3)


def test_circuits_outside_the_family_stay_on_the_torch_plans():
    gated = QuantumSpec(n_qubits=3, n_layers=1, gating="hard")
    layer = QuantumLayer(gated, lambda program, cols: NativeExecutor(program))
    layer(torch.rand(2, 3, dtype=torch.float64))
    assert layer.executor.compact is None and layer.executor.last_strategy in ("fused", "gates")
    with pytest.raises(ConfigError, match="strategy=compact covers"):
        QuantumLayer(gated, lambda program, cols: NativeExecutor(program, "compact"))


def test_a_second_derivative_is_refused_not_silently_zero():
    layer = QuantumLayer(QuantumSpec(n_qubits=2, n_layers=1), lambda program, cols: NativeExecutor(program, "compact"))
    x = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="differentiates once"):
        torch.autograd.grad(layer(x).sum(), x, create_graph=True)


def _run_layer(layer: QuantumLayer, x: torch.Tensor):
    inputs = x.detach().requires_grad_(True)
    layer.zero_grad()
    out = layer(inputs)
    (out * torch.arange(1.0, out.shape[1] + 1, dtype=out.dtype)).sum().backward()
    return out.detach(), inputs.grad, layer.weights.grad.clone()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_model_batch_goes_straight_into_the_node_with_the_casts_of_the_angles_path(dtype):
    """A float32 model's batch, cast inside the compact node, gives bitwise what casting it
    to float64 and back around the node gives; so does a float64 batch without casts."""
    layer = QuantumLayer(QuantumSpec(n_qubits=4, n_layers=2), lambda program, cols: NativeExecutor(program))
    x = (torch.rand(8, 4, dtype=torch.float64) * 3 - 1.5).to(dtype)
    direct = _run_layer(layer, x)
    assert layer.executor.last_strategy == "compact"
    layer._direct = False  # the angles object, the executor's call and torch's casts around the node
    through_angles = _run_layer(layer, x)
    assert direct[0].dtype == direct[1].dtype == dtype and direct[2].dtype == torch.float64
    for ours, theirs in zip(direct, through_angles):
        assert torch.equal(ours, theirs)


def test_a_hook_on_the_executor_still_runs():
    layer = QuantumLayer(QuantumSpec(n_qubits=3, n_layers=1), lambda program, cols: NativeExecutor(program))
    calls = []
    layer.executor.register_forward_hook(lambda module, args, out: calls.append(out.shape))
    layer(torch.rand(5, 3))
    assert calls == [(5, 3)] and layer.executor.last_strategy == "compact"


@pytest.mark.parametrize("n_qubits", [4, 12])
def test_warming_up_runs_the_dense_batch_only_where_the_dense_kernels_can_run(n_qubits, monkeypatch):
    """At 4 qubits the warm-up also compiles the one-matrix kernels (a batch of 2 D n rows); at
    12 they never run, and that batch step by step would hold 400k states (a MemoryError at 13)."""
    executor = NativeExecutor(program_of(QuantumSpec(n_qubits=n_qubits, n_layers=2)), "compact")
    batches = []
    real = native_compact.compact_apply
    monkeypatch.setattr(native_compact, "compact_apply",
                        lambda plan, inputs, *rest: batches.append(inputs.shape[0]) or real(plan, inputs, *rest))
    executor.warm_up(torch.float64)
    assert batches == ([1, 2 * 2**n_qubits * n_qubits] if n_qubits == 4 else [1])
