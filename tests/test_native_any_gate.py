"""The native executor runs any gate of the registry on its fast paths: random programs
(1-8 qubits, up to 30 gates of every kind, angles from the inputs, the weights or none,
batches from 1) give PennyLane default.qubit's outputs and input/weight gradients within
1e-10 in float64, under both strategies; and the plans use the fast paths (product start,
permutations in the layout, diagonal products, fused runs) whichever names the gates have."""

from __future__ import annotations

import pennylane as qml
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qhybrid.quantum.circuit import SOURCE_INPUT, SOURCE_WEIGHT, Program, compile_program
from qhybrid.quantum.gate_registry import GATES, gate_kind
from qhybrid.quantum.gates import Gate
from qhybrid.quantum.native import NativeExecutor
from qhybrid.quantum.native_plan import Block, Dense, Diagonal, Fused, compile_plan
from qhybrid.quantum.observables import default_observables, output_width
from qhybrid.quantum.pennylane_executor import build_qnode
from qhybrid.quantum.spec import QuantumSpec

# the registry's gates under their own names and their aliases (the compiled programs' ROT, CPHASE)
NAMES = sorted(GATES)


@st.composite
def programs(draw):
    n = draw(st.integers(1, 8))
    n_inputs, n_weights = n, draw(st.integers(1, 6))
    gates, columns = [], []
    for _ in range(draw(st.integers(1, 30))):
        name = draw(st.sampled_from(NAMES))
        kind = GATES[name]
        if kind.n_wires > n:
            continue
        wires = tuple(draw(st.permutations(range(n)))[:kind.n_wires])
        cols = []
        for _ in range(kind.n_params):
            # weights twice as often as inputs: runs of data-independent gates for the fused strategy
            source = draw(st.sampled_from([SOURCE_INPUT, SOURCE_WEIGHT, SOURCE_WEIGHT]))
            columns.append((source, draw(st.integers(0, (n_inputs if source == SOURCE_INPUT else n_weights) - 1))))
            cols.append(len(columns) - 1)
        gates.append(Gate(name, wires, tuple(cols)))
    program = Program(n_qubits=n, gates=gates, columns=columns, weight_shape=(n_weights,))
    return program, draw(st.sampled_from([1, 1, 2, 3, 5])), draw(st.integers(0, 2**31 - 1))


def _outputs_and_gradients(run, program: Program, x: torch.Tensor, w: torch.Tensor, projection: torch.Tensor):
    x, w = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    out = run(program.angles(x, w, None))
    if out.requires_grad:  # a circuit whose gates read no angle has nothing to differentiate
        (out * projection).sum().backward()
    zero = torch.zeros_like
    return out.detach(), zero(x) if x.grad is None else x.grad, zero(w) if w.grad is None else w.grad


def pennylane_outputs(results, observables: list, batch: int) -> torch.Tensor:
    """A qnode's measurements as one (batch, width) tensor: expectation values and probs side
    by side (a circuit with no broadcast angle is one circuit: its outputs are every sample's)."""
    results = results if isinstance(results, (list, tuple)) else [results]
    return torch.cat([torch.as_tensor(r).reshape(-1, o.width).expand(batch, -1) for r, o in zip(results, observables)],
                     dim=1)


def _assert_as_pennylane(program: Program, strategy: str, batch: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, program.n_qubits, generator=generator, dtype=torch.float64) * 4 - 2
    w = torch.rand(program.weight_shape, generator=generator, dtype=torch.float64) * 6
    observables = program.observables or default_observables(program.n_qubits)
    projection = torch.rand(batch, output_width(observables), generator=generator, dtype=torch.float64)
    native = NativeExecutor(program, strategy)
    qnode = build_qnode(program, qml.device("default.qubit", wires=program.n_qubits), "backprop", None)

    def reference(angles):
        return pennylane_outputs(qnode(angles.matrix()), observables, batch)

    ours = _outputs_and_gradients(native, program, x, w, projection)
    theirs = _outputs_and_gradients(reference, program, x, w, projection)
    for a, b, what in zip(ours, theirs, ("outputs", "input gradients", "weight gradients")):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0, msg=what)


@pytest.mark.parametrize("strategy", ["fused", "gates"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=programs())
def test_native_runs_any_registry_gate_as_pennylane_does(strategy, case):
    program, batch, seed = case
    _assert_as_pennylane(program, strategy, batch, seed)


# ------------------------------------------------------------------ the fast paths are used


def _shape(steps: list) -> list:
    return [("Fused", _shape(s.plan)) if isinstance(s, Fused) else type(s).__name__ for s in steps]


def _program(n: int, gates: list[tuple], n_weights: int = 8) -> Program:
    """Gates as (name, wires, sources) with sources "i<k>" (input k) or "w<k>" (weight k)."""
    columns, out = [], []
    for name, wires, sources in gates:
        cols = []
        for source in sources:
            columns.append((SOURCE_INPUT if source[0] == "i" else SOURCE_WEIGHT, int(source[1:])))
            cols.append(len(columns) - 1)
        out.append(Gate(name, wires, tuple(cols)))
    return Program(n_qubits=n, gates=out, columns=columns, weight_shape=(n_weights,))


@pytest.mark.parametrize("strategy", ["fused", "gates"])
def test_registry_names_get_the_builtin_circuits_plan(strategy):
    """StronglyEntanglingLayers named Rot/CNOT (as a compiled user circuit names them) runs
    exactly as the built-in ansatz's ROT/CNOT: the same plan, the same one-node fast path."""
    builtin = compile_program(QuantumSpec(n_qubits=4, rotation="X", ansatz="strongly_entangling", n_layers=2))
    renamed = Program(n_qubits=4, gates=[Gate(gate_kind(g.name).name, g.wires, g.columns) for g in builtin.gates],
                      columns=builtin.columns, weight_shape=builtin.weight_shape)
    assert {g.name for g in builtin.gates} == {"RX", "ROT", "CNOT"}
    assert {g.name for g in renamed.gates} == {"RX", "Rot", "CNOT"}
    plans = [compile_plan(p, strategy) for p in (builtin, renamed)]
    assert _shape(plans[0].steps) == _shape(plans[1].steps) and "Dense" not in str(_shape(plans[1].steps))
    assert (plans[0].product, plans[0].followers) == (plans[1].product, plans[1].followers)
    assert {k: len(v) for k, v in plans[0].blocks.items()} == {k: len(v) for k, v in plans[1].blocks.items()}
    executors = [NativeExecutor(p, strategy) for p in (builtin, renamed)]
    assert [("direct" in e.prepared[strategy], e.prepared[strategy].get("simple")) for e in executors] == \
        [(True, True)] * 2
    x = torch.rand(3, 4, dtype=torch.float64)
    w = torch.rand(builtin.weight_shape, dtype=torch.float64)
    assert torch.equal(executors[0](builtin.angles(x, w, None)), executors[1](renamed.angles(x, w, None)))


def test_single_qubit_registry_gates_before_an_entangler_are_the_product_start():
    """Every single-wire gate (with an input's, a weight's or no angle) before the first
    entangler acts on its wire's 2-vector; CNOT, SWAP and a lone X after it are the layout."""
    program = _program(3, [
        ("PhaseShift", (0,), ["i0"]), ("U3", (1,), ["w0", "w1", "w2"]), ("S", (2,), []), ("T", (0,), []),
        ("Rot", (1,), ["i1", "w3", "w4"]), ("ROT", (2,), ["w5", "w6", "w7"]), ("H", (0,), []), ("Y", (1,), []),
        ("Z", (2,), []), ("X", (0,), []), ("RY", (1,), ["i2"]),
        ("CNOT", (0, 1), []), ("SWAP", (1, 2), []), ("X", (2,), []), ("CNOT", (2, 0), [])])
    for strategy in ("fused", "gates"):
        plan = compile_plan(program, strategy)
        assert len(plan.product) + sum(len(f) for f in plan.followers) == 11
        assert plan.steps == []
        _assert_as_pennylane(program, strategy, batch=2, seed=0)


def test_fixed_gates_join_a_fused_run_and_diagonal_gates_one_product():
    """Between input rotations: CNOT, CY, SWAP, CZ, a weight's IsingZZ, CPHASE, CRX and Rot.
    Fused: one Fused step. Gates: the diagonal gates in a row are one Diagonal step, CY and CRX
    Dense steps that the cost model counts with the fixed blocks."""
    program = _program(3, [
        ("RY", (0,), ["i0"]), ("RY", (1,), ["i1"]), ("RY", (2,), ["i2"]),
        ("CNOT", (0, 1), []), ("CY", (0, 1), []), ("SWAP", (1, 2), []), ("CZ", (0, 2), []), ("IsingZZ", (1, 2), ["w0"]),
        ("CPHASE", (0, 1), ["w1"]), ("CRX", (2, 0), ["w2"]), ("Rot", (1,), ["w3", "w4", "w5"]),
        ("RX", (1,), ["i0"])])
    fused = compile_plan(program, "fused")
    assert _shape(fused.steps) == [("Fused", ["Dense", "Diagonal", "Dense", "Block", "Gather"]), "Block"]
    gates = compile_plan(program, "gates")
    assert _shape(gates.steps) == ["Dense", "Diagonal", "Dense", "Block", "Block"]
    assert [g.name for g in next(s for s in gates.steps if isinstance(s, Diagonal)).gates] == \
        ["CZ", "IsingZZ", "ControlledPhaseShift"]
    assert NativeExecutor(program).fixed_blocks == 4  # the Rot block, two Dense steps, the Diagonal
    for strategy in ("fused", "gates"):
        _assert_as_pennylane(program, strategy, batch=3, seed=1)


def test_an_x_among_neighbouring_gates_stays_in_their_block():
    """An X between two gates on neighbouring wires is part of their block (a permutation there
    would split it in two); at the end of the run it is a permutation, and the block shrinks."""
    middle = _program(3, [("H", (0,), []), ("CNOT", (0, 1), []), ("RY", (0,), ["i0"]), ("X", (1,), []),
                          ("RY", (2,), ["i1"])])
    end = _program(3, [("H", (0,), []), ("CNOT", (0, 1), []), ("RY", (0,), ["i0"]), ("RY", (1,), ["i1"]),
                       ("X", (2,), [])])
    for program, k in ((middle, 3), (end, 2)):
        blocks = [s for s in compile_plan(program, "gates").steps if isinstance(s, Block)]
        assert [b.k for b in blocks] == [k]
        assert not any(isinstance(s, Dense) for s in compile_plan(program, "gates").steps)
        _assert_as_pennylane(program, "gates", batch=2, seed=2)


def test_a_cz_ladder_runs_in_the_one_node_circuit():
    """Angle embedding, weight rotations and CZ ladders (a hardware-efficient ansatz) keep the
    usual circuit's one-node path (ProductCircuit): the CZs are a constant diagonal there."""
    n, gates = 4, [("RY", (i,), [f"i{i}"]) for i in range(4)]
    for layer in range(2):
        gates += [("RY", (i,), [f"w{layer * 4 + i}"]) for i in range(n)] + [("CZ", (i, i + 1), []) for i in range(n - 1)]
    program = _program(n, gates)
    prepared = NativeExecutor(program, "gates").prepared["gates"]
    assert "direct" in prepared and prepared["simple"]
    assert "Diagonal" in _shape(compile_plan(program, "gates").steps)
    for strategy in ("fused", "gates"):
        _assert_as_pennylane(program, strategy, batch=3, seed=3)
